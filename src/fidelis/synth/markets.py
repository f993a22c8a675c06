"""Countries the synthetic shop sells to: market, currency, language, names and phone plans.

Static data only. Market names follow the bundled `fidelis/data/markets.toml`, so the ground truth
and the warehouse agree on which market a customer belongs to. Currencies are limited to those in
the bundled ECB table (`fidelis/ingest/data/fx_monthly_ecb.csv`), which is why the Middle East &
Africa market is Israel and South Africa (no AED there), and to codes pycountry still lists as
ISO 4217, which is why Bulgaria is priced in EUR (BGN was withdrawn when Bulgaria joined the euro).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

UNKNOWN_COUNTRY = "Atlantis"


@dataclass(frozen=True)
class PhonePlan:
    """How to make valid, unique mobile numbers of one country.

    Each prefix is followed by 6 free digits (so 1,000,000 numbers per prefix); the patterns put
    the national significant number's digits in place of the '#' characters.
    """

    country_code: int
    prefixes: tuple[str, ...]
    international_pattern: str
    national_pattern: str


@dataclass(frozen=True)
class Country:
    """One country of the synthetic customer base."""

    iso2: str
    names: tuple[str, ...]  # spellings written in the data besides the ISO code; first is canonical
    market: str
    currency: str
    weight: float  # share of customers
    language: str  # ISO 639-1 language of feedback texts (en where no templates exist)
    name_group: str
    native_script_fraction: float  # share of customers whose name is written in the local script
    phone: PhonePlan


def _plan(code: int, prefixes: str, intl: str, national: str) -> PhonePlan:
    return PhonePlan(code, tuple(prefixes.split()), intl, national)


# Prefixes checked with `phonenumbers` (valid mobile numbers for every 6-digit suffix).
COUNTRIES: tuple[Country, ...] = (
    Country("US", ("United States", "USA"), "North America", "USD", 0.20, "en", "en_us", 0.0,
            _plan(1, "2015 2012 2013 2014 2016", "+1 ###-###-####", "(###) ###-####")),
    Country("CA", ("Canada",), "North America", "CAD", 0.05, "en", "en_us", 0.0,
            _plan(1, "5062 5063 5064 5065 5066", "+1 ###-###-####", "(###) ###-####")),
    Country("MX", ("Mexico",), "Latin America", "MXN", 0.04, "es", "es", 0.0,
            _plan(52, "2221 2220 2222 2223 2224", "+52 ### ### ####", "### ### ####")),
    Country("BR", ("Brazil",), "Latin America", "BRL", 0.05, "pt", "pt", 0.0,
            _plan(55, "11961 11960 11962 11963 11964", "+55 ## #####-####", "(##) #####-####")),
    Country("DE", ("Germany",), "Europe", "EUR", 0.09, "de", "de", 0.0,
            _plan(49, "15123 15120 15121 15122 15124", "+49 #### #######", "0#### #######")),
    Country("FR", ("France",), "Europe", "EUR", 0.06, "fr", "fr", 0.0,
            _plan(33, "612 610 611 613 614", "+33 # ## ## ## ##", "0# ## ## ## ##")),
    Country("ES", ("Spain",), "Europe", "EUR", 0.04, "es", "es", 0.0,
            _plan(34, "612 610 611 613 614", "+34 ### ## ## ##", "### ## ## ##")),
    Country("IT", ("Italy",), "Europe", "EUR", 0.04, "it", "it", 0.0,
            _plan(39, "3123 3120 3121 3122 3124", "+39 ### ### ####", "### ### ####")),
    Country("NL", ("Netherlands", "Holland"), "Europe", "EUR", 0.03, "nl", "nl", 0.0,
            _plan(31, "612 610 611 613 614", "+31 # ########", "0# ########")),
    Country("PL", ("Poland",), "Europe", "PLN", 0.03, "en", "pl", 0.0,
            _plan(48, "512 510 511 513 514", "+48 ### ### ###", "### ### ###")),
    Country("SE", ("Sweden",), "Europe", "SEK", 0.02, "en", "sv", 0.0,
            _plan(46, "701 700 702 703 704", "+46 ## ### ## ##", "0##-### ## ##")),
    Country("BG", ("Bulgaria",), "Europe", "EUR", 0.01, "en", "bg", 0.6,
            _plan(359, "878 888 898 877 887", "+359 ## ### ####", "0## ### ####")),
    Country("GB", ("United Kingdom", "UK"), "United Kingdom", "GBP", 0.08, "en", "en_gb", 0.0,
            _plan(44, "7400 7401 7402 7403 7404", "+44 #### ######", "0#### ######")),
    Country("SG", ("Singapore",), "Southeast Asia", "SGD", 0.02, "en", "sg", 0.0,
            _plan(65, "81 82 83 84 85", "+65 #### ####", "#### ####")),
    Country("MY", ("Malaysia",), "Southeast Asia", "MYR", 0.02, "en", "ms", 0.0,
            _plan(60, "123 120 121 122 124", "+60 ##-### ####", "0##-### ####")),
    Country("TH", ("Thailand",), "Southeast Asia", "THB", 0.02, "en", "th", 0.6,
            _plan(66, "812 810 811 813 814", "+66 ## ### ####", "0## ### ####")),
    Country("ID", ("Indonesia",), "Southeast Asia", "IDR", 0.03, "en", "ms", 0.0,
            _plan(62, "812 810 811 813 814", "+62 ###-###-###", "0###-###-###")),
    Country("PH", ("Philippines",), "Southeast Asia", "PHP", 0.02, "en", "ph", 0.0,
            _plan(63, "9051 9050 9052 9053 9054", "+63 ### ### ####", "0### ### ####")),
    Country("AU", ("Australia",), "Asia-Pacific other", "AUD", 0.04, "en", "en_gb", 0.0,
            _plan(61, "412 410 411 413 414", "+61 ### ### ###", "0### ### ###")),
    Country("JP", ("Japan",), "Asia-Pacific other", "JPY", 0.05, "ja", "ja", 0.7,
            _plan(81, "9012 9010 9011 9013 9014", "+81 ##-####-####", "0##-####-####")),
    Country("KR", ("South Korea", "Korea, Republic of"), "Asia-Pacific other", "KRW", 0.02, "en", "ko", 0.7,
            _plan(82, "1020 1021 1022 1023 1024", "+82 ##-####-####", "0##-####-####")),
    Country("ZA", ("South Africa",), "Middle East & Africa", "ZAR", 0.02, "en", "za", 0.0,
            _plan(27, "711 710 712 713 714", "+27 ## ### ####", "0## ### ####")),
    Country("IL", ("Israel",), "Middle East & Africa", "ILS", 0.02, "en", "he", 0.5,
            _plan(972, "502 500 503 504 505", "+972 ##-###-####", "0##-###-####")),
)

# Decimal places amounts are rounded to. ISO 4217 says 2 for IDR, but rupiah prices are whole
# numbers in practice; whole numbers are valid under either rule.
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "IDR", "ISK", "CLP", "VND"})


def minor_unit_digits(currency: str) -> int:
    """Decimal places of the amounts written for `currency`."""
    return 0 if currency in ZERO_DECIMAL_CURRENCIES else 2


# Family-name-first groups write "Family Given" (with no space for Korean in local script).
FAMILY_FIRST_GROUPS = frozenset({"ja", "ko"})

# (given names, family names). Latin-script groups: plain names. Other scripts: "local/romanised";
# the romanised form is used for e-mail addresses and for customers who type their name in Latin.
NAME_LISTS: dict[str, tuple[str, str]] = {
    "en_us": ("James Mary John Patricia Robert Jennifer Michael Linda David Emily Daniel Sarah Chris Jessica",
              "Smith Johnson Williams Brown Jones Garcia Miller Davis Wilson Anderson Taylor Thomas Moore Martin"),
    "en_gb": ("Oliver Amelia George Isla Harry Olivia Jack Emily Charlie Sophie Thomas Grace",
              "Smith Jones Taylor Brown Williams Wilson Johnson Davies Evans Walker Wright Thompson"),
    "es": ("Alejandro María José Lucía Carlos Sofía Javier Carmen Miguel Elena Diego Laura",
           "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Díaz Hernández Ruiz"),
    "pt": ("João Maria Pedro Ana Lucas Juliana Gabriel Beatriz Rafael Camila Mateus Larissa",
           "Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Costa Ribeiro"),
    "de": ("Anna Lukas Lena Leon Marie Jonas Sophie Felix Laura Paul Julia Maximilian",
           "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter"),
    "fr": ("Camille Louis Léa Hugo Chloé Jules Manon Gabriel Inès Arthur Emma Lucas",
           "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent"),
    "it": ("Giulia Francesco Sofia Alessandro Aurora Lorenzo Martina Leonardo Chiara Matteo Alice Andrea",
           "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo"),
    "nl": ("Daan Emma Sem Julia Lucas Mila Levi Tess Finn Sophie Noah Zoë",
           "de_Jong Jansen de_Vries van_den_Berg van_Dijk Bakker Janssen Visser Smit Meijer de_Boer Mulder"),
    "pl": ("Jakub Zuzanna Antoni Julia Jan Maja Szymon Hanna Filip Zofia Aleksander Lena",
           ("Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Woźniak "
            "Dąbrowski Kozłowski")),
    "sv": ("Erik Maja Lars Elsa Oskar Alice Karl Astrid Nils Ebba Anders Saga",
           ("Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Gustafsson "
            "Pettersson Jonsson")),
    "bg": (("Иван/Ivan Мария/Maria Георги/Georgi Елена/Elena Димитър/Dimitar Десислава/Desislava "
            "Николай/Nikolay Петя/Petya"),
           ("Иванов/Ivanov Петров/Petrov Георгиев/Georgiev Димитров/Dimitrov Николов/Nikolov "
            "Стоянов/Stoyanov Тодоров/Todorov Илиев/Iliev")),
    "sg": ("Wei_Ling Jun_Jie Hui_Min Zhi_Hao Priya Arjun Siti Daniel",
           "Tan Lim Lee Ng Wong Goh Chua Koh"),
    "ms": ("Ahmad Siti Muhammad Nur Budi Dewi Agus Putri Rizky Ayu",
           "Rahman Abdullah Hassan Santoso Wijaya Saputra Hidayat Kusuma Ismail Lestari"),
    "th": (("สมชาย/Somchai สมศรี/Somsri ประเสริฐ/Prasert มาลี/Malee อนันต์/Anan วิไล/Wilai "
            "สุนทร/Sunthorn นภา/Napha"),
           ("ศรีสุข/Srisuk วงศ์ใหญ่/Wongyai แสงทอง/Saengthong บุญมา/Boonma ใจดี/Jaidee "
            "รัตนพงษ์/Rattanapong สุขสวัสดิ์/Suksawat ทองดี/Thongdee")),
    "ph": ("Juan Maria Jose Angel Mark Kristine John_Paul Princess",
           "Santos Reyes Cruz Bautista Garcia Mendoza Dela_Cruz Villanueva"),
    "ja": ("翔/Sho 陽菜/Hina 蓮/Ren 結衣/Yui 大翔/Hiroto 美咲/Misaki 悠真/Yuma さくら/Sakura",
           "佐藤/Sato 鈴木/Suzuki 高橋/Takahashi 田中/Tanaka 伊藤/Ito 渡辺/Watanabe 山本/Yamamoto 中村/Nakamura"),
    "ko": ("민준/Minjun 서연/Seoyeon 도윤/Doyun 지우/Jiwoo 하준/Hajun 서윤/Seoyun 지호/Jiho 하은/Haeun",
           "김/Kim 이/Lee 박/Park 최/Choi 정/Jung 강/Kang 조/Cho 윤/Yoon"),
    "za": ("Thabo Lerato Sipho Naledi Johan Anneke Pieter Zanele",
           "Nkosi Dlamini Ndlovu Botha van_der_Merwe Naidoo Mokoena Pretorius"),
    "he": ("נועה/Noa יוסף/Yosef תמר/Tamar דוד/David מאיה/Maya אורי/Ori שירה/Shira איתי/Itai",
           "כהן/Cohen לוי/Levi מזרחי/Mizrahi פרץ/Peretz ביטון/Biton אברהם/Avraham פרידמן/Friedman שפירא/Shapira"),
}

_ASCII_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                             "ł": "l", "Ł": "L", "ø": "o", "Ø": "O"})


@dataclass(frozen=True)
class NameEntry:
    """A given or family name in local script, in Latin script, and as an e-mail fragment."""

    local: str
    latin: str
    email: str


def ascii_email_fragment(latin: str) -> str:
    """Lower-case ASCII letters only: 'Müller' -> 'mueller', 'de Jong' -> 'dejong'."""
    folded = unicodedata.normalize("NFKD", latin.translate(_ASCII_FOLD))
    return "".join(ch for ch in folded if ch.isascii() and ch.isalpha()).lower()


def _entries(words: str) -> tuple[NameEntry, ...]:
    out = []
    for word in words.split():
        local, _, latin = word.partition("/")
        local, latin = local.replace("_", " "), (latin or local).replace("_", " ")
        out.append(NameEntry(local, latin, ascii_email_fragment(latin)))
    return tuple(out)


def name_entries(group: str) -> tuple[tuple[NameEntry, ...], tuple[NameEntry, ...]]:
    """(given names, family names) of a name group."""
    given, family = NAME_LISTS[group]
    return _entries(given), _entries(family)

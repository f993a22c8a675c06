"""Template review texts in several languages, consistent with the score they come with.

A text is an opening sentence for the sentiment (positive / neutral / negative) followed, for
some neutral and negative reviews, by a sentence about one complaint topic. All combinations are
enumerated once into a small table, so that rows only carry an index into it.
"""

from __future__ import annotations

SENTIMENTS = ("positive", "neutral", "negative")
TOPICS = ("shipping_delay", "damaged_item", "wrong_size", "customs_fees", "refund")

# language -> sentiment -> openings
OPENINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "positive": ("Great quality, exactly as described!", "Fast delivery and lovely product, will buy again.",
                     "Really happy with my order, thank you!"),
        "neutral": ("The product is okay, nothing special.", "Decent value for the price.",
                    "It does the job, but I expected a bit more."),
        "negative": ("Very disappointed with this order.", "Not what I expected at all.",
                     "Poor experience, I would not order again."),
    },
    "de": {
        "positive": ("Tolle Qualität, genau wie beschrieben!", "Schnelle Lieferung, super Produkt, gerne wieder.",
                     "Bin sehr zufrieden mit meiner Bestellung, danke!"),
        "neutral": ("Das Produkt ist in Ordnung, nichts Besonderes.", "Preis-Leistung ist okay.",
                    "Erfüllt seinen Zweck, ich hatte aber etwas mehr erwartet."),
        "negative": ("Sehr enttäuscht von dieser Bestellung.", "Überhaupt nicht das, was ich erwartet habe.",
                     "Schlechte Erfahrung, ich bestelle hier nicht wieder."),
    },
    "fr": {
        "positive": ("Très bonne qualité, conforme à la description !",
                     "Livraison rapide et produit superbe, je recommande.", "Très satisfaite de ma commande, merci !"),
        "neutral": ("Le produit est correct, sans plus.", "Rapport qualité-prix correct.",
                    "Il fait l'affaire, mais je m'attendais à mieux."),
        "negative": ("Très déçu de cette commande.", "Pas du tout ce que j'attendais.",
                     "Mauvaise expérience, je ne commanderai plus."),
    },
    "es": {
        "positive": ("¡Excelente calidad, tal como se describe!", "Envío rápido y producto precioso, repetiré.",
                     "¡Muy contenta con mi pedido, gracias!"),
        "neutral": ("El producto está bien, nada especial.", "Relación calidad-precio aceptable.",
                    "Cumple su función, pero esperaba algo más."),
        "negative": ("Muy decepcionado con este pedido.", "No es para nada lo que esperaba.",
                     "Mala experiencia, no volveré a comprar."),
    },
    "pt": {
        "positive": ("Ótima qualidade, exatamente como descrito!", "Entrega rápida e produto lindo, vou comprar de novo.",
                     "Muito satisfeita com meu pedido, obrigada!"),
        "neutral": ("O produto é razoável, nada de especial.", "Custo-benefício ok.",
                    "Cumpre o que promete, mas esperava um pouco mais."),
        "negative": ("Muito decepcionado com este pedido.", "Nada do que eu esperava.",
                     "Experiência ruim, não compro mais."),
    },
    "it": {
        "positive": ("Ottima qualità, esattamente come descritto!", "Spedizione veloce e prodotto bellissimo.",
                     "Molto soddisfatta del mio ordine, grazie!"),
        "neutral": ("Il prodotto è discreto, niente di speciale.", "Rapporto qualità-prezzo nella media.",
                    "Fa il suo lavoro, ma mi aspettavo di più."),
        "negative": ("Molto deluso da questo ordine.", "Per niente quello che mi aspettavo.",
                     "Pessima esperienza, non ordinerò più."),
    },
    "nl": {
        "positive": ("Geweldige kwaliteit, precies zoals beschreven!", "Snelle levering en mooi product, aanrader.",
                     "Heel blij met mijn bestelling, bedankt!"),
        "neutral": ("Het product is oké, niets bijzonders.", "Redelijke prijs-kwaliteitverhouding.",
                    "Doet wat het moet doen, maar ik had meer verwacht."),
        "negative": ("Erg teleurgesteld in deze bestelling.", "Helemaal niet wat ik verwachtte.",
                     "Slechte ervaring, ik bestel hier niet meer."),
    },
    "ja": {
        "positive": ("品質がとても良く、説明通りでした！", "配送が早く、素敵な商品でした。また購入します。",
                     "注文にとても満足しています。ありがとうございます！"),
        "neutral": ("商品はまあまあです。", "価格相応だと思います。", "使えますが、もう少し期待していました。"),
        "negative": ("今回の注文にはとてもがっかりしました。", "期待していたものと全く違いました。",
                     "残念な体験でした。もう注文しません。"),
    },
}

# language -> topic -> sentence
TOPIC_SENTENCES: dict[str, dict[str, str]] = {
    "en": {"shipping_delay": "Shipping took almost three weeks.", "damaged_item": "The item arrived damaged.",
           "wrong_size": "The size was wrong, much smaller than the chart.",
           "customs_fees": "I had to pay unexpected customs fees.", "refund": "Still waiting for my refund."},
    "de": {"shipping_delay": "Der Versand hat fast drei Wochen gedauert.",
           "damaged_item": "Der Artikel kam beschädigt an.", "wrong_size": "Die Größe passt nicht, fällt viel kleiner aus.",
           "customs_fees": "Ich musste unerwartet Zollgebühren zahlen.", "refund": "Ich warte immer noch auf meine Erstattung."},
    "fr": {"shipping_delay": "La livraison a pris presque trois semaines.", "damaged_item": "L'article est arrivé abîmé.",
           "wrong_size": "La taille ne correspond pas, taille beaucoup trop petit.",
           "customs_fees": "J'ai dû payer des frais de douane imprévus.",
           "refund": "J'attends toujours mon remboursement."},
    "es": {"shipping_delay": "El envío tardó casi tres semanas.", "damaged_item": "El artículo llegó dañado.",
           "wrong_size": "La talla no es correcta, es mucho más pequeña.",
           "customs_fees": "Tuve que pagar gastos de aduana inesperados.", "refund": "Sigo esperando mi reembolso."},
    "pt": {"shipping_delay": "A entrega demorou quase três semanas.", "damaged_item": "O produto chegou danificado.",
           "wrong_size": "O tamanho veio errado, muito menor que a tabela.",
           "customs_fees": "Tive que pagar taxas de alfândega inesperadas.", "refund": "Ainda estou esperando o reembolso."},
    "it": {"shipping_delay": "La spedizione ha richiesto quasi tre settimane.",
           "damaged_item": "L'articolo è arrivato danneggiato.", "wrong_size": "La taglia è sbagliata, veste molto piccolo.",
           "customs_fees": "Ho dovuto pagare dazi doganali imprevisti.", "refund": "Sto ancora aspettando il rimborso."},
    "nl": {"shipping_delay": "De verzending duurde bijna drie weken.", "damaged_item": "Het artikel kwam beschadigd aan.",
           "wrong_size": "De maat klopt niet, valt veel kleiner uit.",
           "customs_fees": "Ik moest onverwachte invoerrechten betalen.", "refund": "Ik wacht nog steeds op mijn terugbetaling."},
    "ja": {"shipping_delay": "配送に3週間近くかかりました。", "damaged_item": "商品が破損して届きました。",
           "wrong_size": "サイズが違い、表記よりかなり小さかったです。", "customs_fees": "予想外の関税を支払う必要がありました。",
           "refund": "まだ返金を待っています。"},
}

LANGUAGES = tuple(OPENINGS)
OPENINGS_PER_SENTIMENT = 3
_SEPARATOR = {"ja": ""}  # Japanese sentences are not separated by a space


def text_table() -> list[str]:
    """Every text, indexed by `text_index(language, sentiment, opening, topic)`.

    `topic` is 0 for "no topic" and 1 + index into TOPICS otherwise.
    """
    table = []
    for language in LANGUAGES:
        separator = _SEPARATOR.get(language, " ")
        for sentiment in SENTIMENTS:
            for opening in OPENINGS[language][sentiment]:
                table.append(opening)
                table.extend(opening + separator + TOPIC_SENTENCES[language][t] for t in TOPICS)
    return table


def text_index(language, sentiment, opening, topic):
    """Index into `text_table()`; works element-wise on numpy integer arrays."""
    per_opening = 1 + len(TOPICS)
    per_sentiment = OPENINGS_PER_SENTIMENT * per_opening
    per_language = len(SENTIMENTS) * per_sentiment
    return language * per_language + sentiment * per_sentiment + opening * per_opening + topic

"""The synthetic shop's product catalogue: SKUs, names, categories and popularity.

The catalogue does not depend on the seed, so SKUs mean the same thing in every generated data
set (handy when benchmarks or demos combine several of them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# category: (share of the catalogue, SKU code prefix, relative return propensity, product nouns)
CATEGORIES: dict[str, tuple[float, str, float, tuple[str, ...]]] = {
    "apparel": (0.25, "APP", 2.2, ("T-Shirt", "Hoodie", "Denim Jacket", "Sneakers", "Summer Dress",
                                   "Wool Scarf", "Leggings", "Rain Jacket", "Chinos", "Sweater")),
    "beauty": (0.12, "BEA", 0.5, ("Face Serum", "Lip Balm", "Sheet Mask Set", "Sunscreen", "Hair Oil",
                                  "Body Lotion", "Eye Cream", "Perfume")),
    "home": (0.14, "HOM", 0.8, ("Throw Pillow", "Ceramic Mug", "Desk Lamp", "Bath Towel", "Storage Box",
                                "Scented Candle", "Wall Clock", "Bed Sheet Set")),
    "electronics": (0.12, "ELE", 1.1, ("Wireless Earbuds", "Phone Case", "USB-C Charger", "Power Bank",
                                       "Smart Watch Strap", "Bluetooth Speaker", "Webcam", "Keyboard")),
    "toys": (0.08, "TOY", 0.6, ("Building Blocks", "Plush Bear", "Puzzle 1000", "Toy Car", "Board Game",
                                "Kite")),
    "sports": (0.10, "SPO", 1.0, ("Yoga Mat", "Water Bottle", "Running Socks", "Resistance Bands",
                                  "Gym Bag", "Cycling Gloves")),
    "books": (0.09, "BOO", 0.3, ("Cookbook", "Travel Guide", "Graphic Novel", "Notebook", "Sketchbook",
                                 "Language Course")),
    "grocery": (0.10, "GRO", 0.2, ("Green Tea", "Coffee Beans", "Dark Chocolate", "Olive Oil", "Spice Mix",
                                   "Dried Mango")),
}
_ADJECTIVES = ("Classic", "Premium", "Organic", "Eco", "Vintage", "Slim", "Deluxe", "Everyday", "Compact",
               "Pro", "Travel", "Mini")
_VARIANTS = ("Black", "White", "Navy", "Red", "Green", "Grey", "Beige", "Blue")
_POPULARITY_EXPONENT = 0.9  # Zipf-like: a few SKUs sell a lot, a long tail sells little
_CATALOGUE_SEED = 20240601  # fixed: the catalogue is the same for every generation seed


@dataclass(frozen=True)
class Catalogue:
    """Per-SKU arrays (index = SKU number)."""

    sku: np.ndarray  # str
    product: np.ndarray  # str
    category: np.ndarray  # str
    category_index: np.ndarray  # int, into `category_names`
    return_propensity: np.ndarray  # float, relative (mean over sales ~1)
    popularity: np.ndarray  # float probabilities summing to 1
    category_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.sku)


def build_catalogue(size: int) -> Catalogue:
    """A catalogue of `size` SKUs spread over the categories by their shares."""
    names = tuple(CATEGORIES)
    shares = np.array([CATEGORIES[c][0] for c in names])
    counts = _largest_remainder(shares / shares.sum(), size)
    sku, product, category, cat_index, propensity = [], [], [], [], []
    for ci, (name, count) in enumerate(zip(names, counts, strict=True)):
        _, code, returns, nouns = CATEGORIES[name]
        for k in range(count):
            noun = nouns[k % len(nouns)]
            adjective = _ADJECTIVES[(k // len(nouns)) % len(_ADJECTIVES)]
            variant = _VARIANTS[(3 * k + k // len(nouns)) % len(_VARIANTS)]
            sku.append(f"{code}-{k + 1:04d}")
            product.append(f"{adjective} {noun} - {variant}")
            category.append(name)
            cat_index.append(ci)
            propensity.append(returns)
    rank = np.random.default_rng(_CATALOGUE_SEED).permutation(size) + 1
    popularity = rank.astype(float) ** -_POPULARITY_EXPONENT
    popularity /= popularity.sum()
    propensity_arr = np.array(propensity)
    propensity_arr /= float(popularity @ propensity_arr)
    return Catalogue(np.array(sku), np.array(product), np.array(category), np.array(cat_index),
                     propensity_arr, popularity, names)


def _largest_remainder(shares: np.ndarray, total: int) -> list[int]:
    """Integer counts summing to `total`, as close as possible to `shares * total`."""
    raw = shares * total
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts.tolist()

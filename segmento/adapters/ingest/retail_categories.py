"""Categories for the Online Retail products, derived from their descriptions.

The UCI Online Retail data has no product categories, only free-text descriptions
such as ``WHITE HANGING HEART T-LIGHT HOLDER``. So that category interests mean
something for that shop, each description is matched against the keyword table below.
The first entry with a matching word wins, and a product that matches none gets no
category. This is a heuristic written for the bundled data, not a product catalogue.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

# (category path, words). Order matters: seasonal and specific entries come before
# the broad ones, so "CHRISTMAS TREE T-LIGHT HOLDER" is Christmas, not lighting.
CATEGORY_KEYWORDS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("seasonal.christmas", ("CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "SNOWFLAKE", "NATIVITY", "SLEIGH")),
    ("seasonal.easter", ("EASTER", "BUNNY", "CHICK")),
    ("home.lighting", ("T-LIGHT", "TLIGHT", "CANDLE", "CANDLES", "LANTERN", "LIGHT", "LIGHTS", "LAMP", "NIGHTLIGHT")),
    ("bags", ("BAG", "BAGS", "SHOPPER", "TOTE", "PURSE", "BACKPACK", "RUCKSACK")),
    ("party", ("PARTY", "BUNTING", "BALLOON", "BALLOONS", "BIRTHDAY", "NAPKINS", "CONFETTI", "GARLAND")),
    (
        "home.kitchen",
        (
            "MUG", "MUGS", "CUP", "CUPS", "TEA", "TEACUP", "TEAPOT", "CAKE", "CAKES", "CAKESTAND", "BOWL",
            "BOWLS", "PLATE", "PLATES", "CUTLERY", "JAR", "PANTRY", "BAKING", "APRON", "SPOON", "SPOONS",
            "JAM", "NAPKIN", "LUNCH", "COASTER", "COASTERS", "TRAY", "OVEN", "KITCHEN", "RECIPE", "TOAST",
            "EGG", "BISCUIT", "JUG", "CHOPSTICKS", "BOTTLE", "COOKIE", "BREAD", "PEGS",
        ),
    ),
    (
        "stationery",
        (
            "CARD", "CARDS", "PAPER", "NOTEBOOK", "PENCIL", "PENCILS", "PEN", "PENS", "WRAP", "STICKER",
            "STICKERS", "ENVELOPE", "ENVELOPES", "CALENDAR", "JOURNAL", "ERASER", "NOTEPAD", "RIBBON",
            "RIBBONS", "TAPE", "STAMP", "STAMPS", "BOOK", "BOOKMARK", "STATIONERY", "TAGS", "TISSUES",
            "CHALKBOARD", "MEMO",
        ),
    ),
    (
        "toys",
        (
            "TOY", "TOYS", "DOLLY", "DOLL", "GAME", "GAMES", "PUZZLE", "JIGSAW", "TEDDY", "PLAYHOUSE",
            "SKIPPING", "SPINNING", "CHILDRENS", "CHILDREN'S", "KIDS", "COLOURING", "CRAYONS", "DOMINOES",
            "FELTCRAFT", "KNITTING", "SEWING", "SKITTLES", "GLIDERS", "PAINT",
        ),
    ),
    (
        "accessories",
        ("NECKLACE", "BRACELET", "EARRINGS", "RING", "HAIRCLIP", "HAIR", "UMBRELLA", "BROOCH", "CHARM", "WARMER", "PARASOL", "FAN"),
    ),
    ("home.bathroom", ("SOAP", "BATH", "TOWEL", "SPONGE", "TOILET", "HOT WATER BOTTLE")),
    ("garden", ("GARDEN", "BIRD", "BIRDHOUSE", "PLANT", "PLANTER", "WATERING", "FLOWER POT", "POT")),
    (
        "home.storage",
        (
            "BOX", "BOXES", "DRAWER", "STORAGE", "BASKET", "TIN", "TINS", "CASE", "CASES", "CRATE", "HOLDER", "TRINKET",
            "CHEST", "CABINET", "CONTAINER",
        ),
    ),
    (
        "home.decor",
        (
            "SIGN", "FRAME", "CLOCK", "DOORMAT", "CUSHION", "HANGING", "DECORATION", "HEART", "WALL", "MIRROR",
            "VASE", "ORNAMENT", "WREATH", "CHIME", "DOORSTOP", "PLAQUE", "KNOB", "HOOK", "HOOKS", "COAT", "BLOCK", "STAR",
        ),
    ),
)

_PATTERNS: Final = tuple(
    (category, re.compile(r"(?<![A-Z])(?:" + "|".join(re.escape(word) for word in words) + r")(?![A-Z])"))
    for category, words in CATEGORY_KEYWORDS
)


@lru_cache(maxsize=8192)
def category_for(description: str) -> str | None:
    """Return the category path of a product description, or ``None`` when no keyword matches."""
    text = description.upper()
    for category, pattern in _PATTERNS:
        if pattern.search(text):
            return category
    return None

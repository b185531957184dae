"""Text preparation shared by every backend.

Stored text and rule values are Unicode NFC. ``fold`` computes the form used when a
rule asks to ignore case and Vietnamese diacritics; profiles store the folded form
next to the original when they are written, so every backend compares the same
prepared values.
"""

from __future__ import annotations

import unicodedata

# Letters whose diacritic is not a combining mark, so NFD does not split them off.
_SPECIAL_LETTERS = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l"})


def normalize(text: str) -> str:
    """Return ``text`` in Unicode NFC, the form segmento stores and compares."""
    return unicodedata.normalize("NFC", text)


def fold(text: str, *, case: bool = True, accents: bool = True) -> str:
    """Return ``text`` with case and/or diacritics removed ("Đà Nẵng" → "da nang").

    The result is NFC, so folding only accents keeps precomposed letters intact
    where no diacritic was removed.
    """
    result = normalize(text)
    if accents:
        decomposed = unicodedata.normalize("NFD", result.translate(_SPECIAL_LETTERS))
        result = "".join(char for char in decomposed if not unicodedata.combining(char))
        result = unicodedata.normalize("NFC", result)
    if case:
        result = result.casefold()
    return result


def fold_full(text: str) -> str:
    """Return the form stored in ``<field>_folded`` columns: no case and no diacritics."""
    return fold(text, case=True, accents=True)

"""Text preparation shared by every backend.

Stored text and rule values are Unicode NFC. ``fold`` computes the form used when a
rule ignores case and/or Vietnamese diacritics. Stores write every folded form
(``prepared_forms``) next to the original when a profile is written, so every backend
compares the same prepared values.
"""

from __future__ import annotations

import unicodedata

# Letters whose diacritic is not a combining mark, so NFD does not split them off.
_SPECIAL_LETTERS = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L"})


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


FOLD_SUFFIXES: dict[tuple[bool, bool], str] = {
    (True, False): "_ci",
    (False, True): "_ai",
    (True, True): "_ci_ai",
}
"""Suffix of the prepared column for each (ignore_case, ignore_accents) option pair."""


def fold_for(text: str, ignore_case: bool, ignore_accents: bool) -> str:
    """Return ``text`` prepared for a comparison with the given options (NFC when exact)."""
    return fold(text, case=ignore_case, accents=ignore_accents)


def prepared_forms(text: str) -> dict[str, str]:
    """Return every folded form of ``text`` by column suffix, as stores write them."""
    return {suffix: fold(text, case=case, accents=accents) for (case, accents), suffix in FOLD_SUFFIXES.items()}

"""Language detection (Persian or English) by script, with no model to download."""
from __future__ import annotations

from .text import ARABIC_SCRIPT, LATIN


def detect_language(text: str, default: str = "en") -> str:
    """Return 'fa' when Arabic-script letters dominate `text`, 'en' when Latin ones do."""
    fa = len(ARABIC_SCRIPT.findall(text))
    en = len(LATIN.findall(text))
    if fa == 0 and en == 0:
        return default
    # Persian text often embeds Latin names (ICT, POS); weigh Persian letters a little higher.
    return "fa" if fa * 1.5 >= en else "en"


_LABELS = {"en": "en", "eng": "en", "english": "en", "fa": "fa", "fas": "fa", "per": "fa", "persian": "fa",
           "farsi": "fa", "فارسی": "fa"}


def language_code(label: str | None) -> str | None:
    """'fa' or 'en' for a language label as feeds and files write it ("EN", "fa-IR", "Persian"), None
    for anything else (the text's script decides then)."""
    if not label:
        return None
    return _LABELS.get(label.strip().lower().replace("_", "-").split("-")[0])

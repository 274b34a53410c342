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

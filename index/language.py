"""Language detection (Persian or English) by script, with no model to download."""
from __future__ import annotations

import re

_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str, default: str = "en") -> str:
    """Return 'fa' when Arabic-script letters dominate `text`, 'en' when Latin ones do."""
    fa = len(_ARABIC_SCRIPT.findall(text))
    en = len(_LATIN.findall(text))
    if fa == 0 and en == 0:
        return default
    # Persian text often embeds Latin names (ICT, POS); weigh Persian letters a little higher.
    return "fa" if fa * 1.5 >= en else "en"

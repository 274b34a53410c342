"""What kind of answer a question asks for: a quantity or a date, which an answer paragraph states as a number."""
from __future__ import annotations

import re

from index.normalizer import normalize

# "how many / how much / what percentage / which year / when"; Persian چند / چقدر / چه تعداد / چه سالی / کی
_QUANTITY = re.compile(
    r"\b(how\s+(many|much|long|old|far|big|large|tall|often)"
    r"|what\s+(percentage|percent|share|number|amount|proportion|figure|total|sum|price|cost|rate|year|date|age"
    r"|speed|capacity|budget|value|volume|size|distance|length|height|weight|score|ranking)"
    r"|(which|what)\s+(year|month|day|date)|when)\b"
    r"|چند|چقدر|چه\s*(تعداد|میزان|مقدار|سالی|سال|زمانی|تاریخی|مبلغ|رقمی|درصدی|اندازه)|(^|\s)کی(\s|$|؟)",
    re.I)
_NUMBER = re.compile(r"\d+")


def asks_quantity(question: str) -> bool:
    """Whether `question` asks for a number: how many or much, a share, a price, a year or date."""
    return bool(_QUANTITY.search(normalize(question)) or _QUANTITY.search(question))


def numbers_in(text: str) -> set[str]:
    """The digit runs of `text` (any script, after normalization)."""
    return set(_NUMBER.findall(normalize(text)))

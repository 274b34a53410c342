"""What kind of answer a question asks for: a quantity or a year, which an answer paragraph states as a number."""
from __future__ import annotations

import re

from index.normalizer import normalize
from index.text import ascii_digits

# English: "how many / how much / what percentage / which year"; not "when", which news answers with
# words as often as with a date ("until the air improves", "on Monday"). Persian: چند, چقدر, چه تعداد /
# میزان / سالی…, whole words (not چندین, چندجانبه, سالن); not کی, which colloquially asks "who" too
_ENGLISH = re.compile(
    r"\bhow\s+(many|much|long|old|far|big|large|tall|often)\b"
    r"|\bwhat\s+(percentage|percent|share|number|amount|proportion|figure|total|sum|price|cost|rate|age"
    r"|speed|capacity|budget|value|volume|size|distance|length|height|weight|score|ranking)\b"
    r"|\b(which|what|in\s+what)\s+(year|month|date|hour|minute)\b", re.I)
_PERSIAN = re.compile(
    r"(^|\s)(چند|چندم|چندمین|چندتا|چقدر)(\s|$|[؟?،,.])"
    r"|(^|\s)(چه|کدام)\s*(تعداد|میزان|مقدار|سال|سالی|تاریخی|مبلغ|رقمی|درصدی|اندازه)(\s|$|[؟?،,.])")
_NUMBER = re.compile(r"\d+(?:[,٬]\d{3})*")


def asks_quantity(question: str) -> bool:
    """Whether `question` asks for a number: how many or much, a share, a price, a year."""
    norm = normalize(question)
    return bool(_ENGLISH.search(question) or _PERSIAN.search(norm))


def numbers_in(text: str) -> set[str]:
    """The integers of `text`, digits of any script, thousands separators removed ("4,200" → "4200")."""
    # no int(): a long digit run would hit Python's limit on int-from-string conversion
    return {ascii_digits(re.sub(r"[,٬]", "", n)).lstrip("0") or "0" for n in _NUMBER.findall(text)}

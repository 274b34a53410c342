"""What kind of answer a question asks for: a quantity or a year, which an answer paragraph states as a number."""
from __future__ import annotations

import re
from collections.abc import Callable

from index.normalizer import STOPWORDS, normalize, words
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
    r"|(^|\s)(چه|کدام)\s*(تعداد|تعدادی|میزان|مقدار|مقداری|سال|سالی|تاریخی|مبلغ|مبلغی|رقمی|درصدی|اندازه)(\s|$|[؟?،,.])")
_NUMBER = re.compile(r"\d+(?:[,٬]\d{3})*")


def asks_quantity(question: str) -> bool:
    """Whether `question` asks for a number: how many or much, a share, a price, a year."""
    norm = normalize(question)
    return bool(_ENGLISH.search(question) or _PERSIAN.search(norm))


def numbers_in(text: str) -> set[str]:
    """The integers of `text`, digits of any script, thousands separators removed ("4,200" → "4200")."""
    # no int(): a long digit run would hit Python's limit on int-from-string conversion
    return {ascii_digits(re.sub(r"[,٬]", "", n)).lstrip("0") or "0" for n in _NUMBER.findall(text)}


# the word a quantity question counts: "how many *mosques*", "how much *honey*", چند *تیم*, چه مقدار *حشیش*
_COUNTED_EN = re.compile(r"\bhow\s+(?:many|much)\s+((?:[a-z][\w'-]*\s+){0,3})", re.I)
_COUNTED_FA = re.compile(r"(?:^|\s)(?:چند|چه\s*(?:تعداد|میزان|مقدار))\s+((?:\S+\s*){0,3})")
# words between the question word and what it counts ("how many *of the* …", چند *میلیون* نفر)
_SKIP = frozenset("of the more less a an tons تا هزار میلیون میلیارد".split())
# after these the next word is the subject, not the thing counted ("how much *did* Iran pay")
_VERBS = frozenset("did does do is was were are has have had will would can could should may might "
                   "must been be".split())
_NUMERAL = re.compile(r"\d")


def counted_words(question: str) -> list[str]:
    """The words naming what a quantity question counts, normalized: English, the words after "how
    many / much" up to a verb or function word ("How many stray dogs were…" → stray, dogs); Persian,
    the noun after چند / چه تعداد (چند تیم… → تیم). Empty when it names none (how much did…, از چند به چند)."""
    english = _COUNTED_EN.search(question)
    found = english or _COUNTED_FA.search(normalize(question))
    if not found:
        return []
    out: list[str] = []
    for w in found.group(1).split():
        w = normalize(w).strip("؟?،,.!:;'\"")
        if w in _SKIP and not out:
            continue
        if w in _VERBS or w in STOPWORDS or len(w) < 2 or _NUMERAL.search(w):
            break
        out.append(w.removesuffix("'s"))
        if not english:  # a Persian noun comes first, its modifiers after it (چند مدال طلا)
            break
    return out


def counts_in(text: str, units: set[str], window: int = 3) -> bool:
    """Whether `text` states a number followed, within `window` words, by one of `units`
    ("16,140 inspections", "۱۴۰ بازرسی"; a plural or attached suffix counts: teams, تیمها)."""
    ws = words(text)
    for i, w in enumerate(ws):
        if _NUMERAL.search(w) and any(_same_unit(x, u) for x in ws[i + 1:i + 1 + window] for u in units):
            return True
    return False


def _same_unit(word: str, unit: str) -> bool:
    if word == unit:
        return True
    short, long_ = sorted((word, unit), key=len)
    return len(short) >= 3 and long_.startswith(short) and long_[len(short):] in _SUFFIXES


_SUFFIXES = frozenset("s es ها های ی ان هایی".split())


def typed_scores(score: dict[int, float], text: Callable[[int], str], question: str, bonus: float,
                 unit_bonus: float, units: set[str]) -> dict[int, float]:
    """Paragraph scores for a quantity question: `bonus` more for a paragraph stating a number the
    question does not contain, `unit_bonus` more again when a number there counts one of `units`."""
    asked = numbers_in(question)
    out = dict(score)
    for p in score:
        body = text(p)
        if numbers_in(body) - asked:
            out[p] += bonus + (unit_bonus if units and counts_in(body, units) else 0.0)
    return out

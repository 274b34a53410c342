"""What kind of answer a question asks for: a quantity or a year, which an answer paragraph states as a number."""
from __future__ import annotations

import re
from collections.abc import Callable

from index.normalizer import STOPWORDS, normalize, words
from index.text import ascii_digits

# English: "how many / how much / what percentage / which year"; not "when", which news answers with
# words as often as with a date ("until the air improves", "on Monday"). Persian: چند, چقدر, چه تعداد /
# میزان / سالی…, whole words (not چندین, چندجانبه, سالن), spoken چقدره / چنده too ("how much is it?"); not کی,
# which colloquially asks "who" too
_ENGLISH = re.compile(
    r"\bhow\s+(many|much|long|old|far|big|large|tall|often)\b"
    r"|\bwhat\s+(percentage|percent|share|number|amount|proportion|figure|total|sum|price|cost|rate|age"
    r"|speed|capacity|budget|value|volume|size|distance|length|height|weight|score|ranking)\b"
    r"|\b(which|what|in\s+what)\s+(year|month|date|hour|minute)\b", re.I)
# چه تعداد / میزان / مقدار (and with the indefinite ی) ask an amount of what follows them
_AMOUNT_FA = "تعداد|تعدادی|میزان|مقدار|مقداری"
_PERSIAN = re.compile(
    r"(^|\s)(چند|چندم|چندمین|چندتا|چقدر|چقدره|چنده)(\s|$|[؟?،,.])"
    rf"|(^|\s)(چه|کدام)\s*({_AMOUNT_FA}|سال|سالی|تاریخی|مبلغ|مبلغی|رقمی|درصدی|اندازه)(\s|$|[؟?،,.])")
_NUMBER = re.compile(r"\d+(?:[,٬]\d{3})*")


def asks_quantity(question: str) -> bool:
    """Whether `question` asks for a number: how many or much, a share, a price, a year."""
    norm = normalize(question)
    return bool(_ENGLISH.search(question) or _PERSIAN.search(norm))


def numbers_in(text: str) -> set[str]:
    """The integers of `text`, digits of any script, thousands separators removed ("4,200" → "4200")."""
    # no int(): a long digit run would hit Python's limit on int-from-string conversion
    return {ascii_digits(re.sub(r"[,٬]", "", n)).lstrip("0") or "0" for n in _NUMBER.findall(text)}


# the words a quantity question counts: "how many *mosques*", "how much *honey*", چند *تیم*, چه مقدار *حشیش*
# (read on normalized text, up to the next punctuation)
_COUNTED_EN = re.compile(r"\bhow\s+(?:many|much)\s+([^?؟.,;:!]{0,80})")
_COUNTED_FA = re.compile(rf"(?:^|\s)(?:چند|چندتا|چه\s*(?:{_AMOUNT_FA}))\s+([^?؟.,;:!،]{{0,80}})")
# words between the question word and what it counts ("how many *of the* …", "how many *thousand* people",
# چه تعداد *از* دانش‌آموزان, چند *میلیون* نفر), and possessives ("how many of *Iran's* players")
_LEAD = frozenset("of the more less a an thousand thousands hundred hundreds million millions billion dozen "
                  "تا از صد ده هزار میلیون میلیارد".split())
# after these the words name no longer what is counted: the verb ("how much *did* Iran pay", "how many
# teams *took* part")
_VERBS = frozenset("did does do is was were are has have had will would can could should may might must been "
                   "be get got gets take took takes make made makes go went come came win won lose lost leave "
                   "left pay paid spend spent live lives work works play plays hold held run ran see saw die "
                   "died say said give gave receive keep kept remain remained build built buy bought sell sold "
                   "bring brought find found fight fought become became begin began break broke cost cut "
                   "draw drew drive drove fall fell feel felt fly flew grow grew hit know knew lead led meet "
                   "met send sent shoot shot stand stood tell told write wrote need needs".split())
_NUMERAL = re.compile(r"\d")
# a plural or attached suffix: teams, تیمها, کارگران (ان / ی only after 4+ letters: باران is no بار)
_SUFFIXES = {"s": 3, "es": 3, "ها": 3, "های": 3, "هایی": 3, "ان": 4, "ی": 4}
_CLAUSE = re.compile(r"[.!?؟;:،,]")


def counted_words(question: str) -> list[str]:
    """The normalized words naming what a quantity question counts ("How many stray dogs…" → stray, dogs;
    چند تیم… → تیم); empty when it names none ("how much did…", از چند به چند)."""
    norm = normalize(question)
    english = _COUNTED_EN.search(norm)
    found = english or _COUNTED_FA.search(norm)
    if not found:
        return []
    out: list[str] = []
    for w in found.group(1).split():
        w = w.strip("'\"«»()")
        if not out and (w in _LEAD or w.endswith("'s")):
            continue
        if (w in _VERBS or w in STOPWORDS or len(w) < 2 or _NUMERAL.search(w)
                or english and len(w) > 4 and w.endswith("ed")):
            break
        out.append(w.removesuffix("'s"))
        if not english or len(out) == 3:  # a Persian noun comes first, its modifiers after it (چند مدال طلا)
            break
    return out


def counts_in(text: str, units: set[str], asked: set[str] | frozenset[str] = frozenset(), window: int = 3) -> bool:
    """Whether `text` states a number not in `asked` followed, within `window` words of the same clause,
    by one of `units` ("16,140 inspections", "۱۴۰ بازرسی"; plurals and attached suffixes count)."""
    for clause in _CLAUSE.split(normalize(text)):
        ws = words(clause)
        for i, w in enumerate(ws):
            if (w.isdigit() and (w.lstrip("0") or "0") not in asked
                    and any(_same_unit(x, u) for x in ws[i + 1:i + 1 + window] for u in units)):
                return True
    return False


def _same_unit(word: str, unit: str) -> bool:
    if word == unit:
        return True
    short, long_ = sorted((word, unit), key=len)
    least = _SUFFIXES.get(long_[len(short):])
    return least is not None and len(short) >= least and long_.startswith(short)


def typed_scores(score: dict[int, float], text: Callable[[int], str], question: str, bonus: float,
                 unit_bonus: float, units: set[str]) -> dict[int, float]:
    """Paragraph scores for a quantity question: `bonus` more for a paragraph stating a number the
    question does not contain, `unit_bonus` more again when a number there counts one of `units`."""
    asked = numbers_in(question)
    out = dict(score)
    for p in score:
        body = text(p)
        if numbers_in(body) - asked:
            out[p] += bonus + (unit_bonus if units and counts_in(body, units, asked) else 0.0)
    return out

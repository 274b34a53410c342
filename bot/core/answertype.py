"""What kind of answer a question asks for: a quantity or a year, which an answer paragraph states as a number, or a
person, whom an English paragraph names in capitals."""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator

from index.dictionary import FA_SUFFIXES
from index.lexical import MIN_LIKENESS
from index.normalizer import STOPWORDS, normalize, words
from index.text import ascii_digits
from index.transliteration import likeness

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
_SUFFIXES = {"s": 3, "es": 3, **dict(FA_SUFFIXES)}
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
    return any((n.lstrip("0") or "0") not in asked and any(_same_unit(x, u) for x in after for u in units)
               for n, after in _numbers_and_next(text, window))


def unit_candidates(text: str, window: int = 3) -> set[str]:
    """The words of `text` that `counts_in` could read as what a number counts: the `window` words after it."""
    return {w for _, after in _numbers_and_next(text, window) for w in after}


def _numbers_and_next(text: str, window: int) -> Iterator[tuple[str, list[str]]]:
    """Each number of `text` with the up to `window` words after it in its clause."""
    for clause in _CLAUSE.split(normalize(text)):
        ws = words(clause)
        for i, w in enumerate(ws):
            if w.isdigit():
                yield w, ws[i + 1:i + 1 + window]


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


# A Persian question asking who: چه کسی / کسانی, کیست, کیه, or کی after با / توسط or the object marker (با کی,
# رو کی برد: "won it") and کی گفته "who said". Not bare کی before a verb, nor از / به / برای کی ("since / to / for
# when"), nor کیا / کیان (Kia, a name), nor کی گفت‌وگو (the talks).
_WHO_FA = re.compile(r"(?:^|\s)(?:چه\s*کس(?:ی|ان|انی)ه?|کیست|کیه|(?:با|توسط|را|رو)\s+کی|کی\s*گفت(?:ه|ند|ن)?(?!\s*و\s*گو))"
                     r"(?:\s|$|[؟?،,.])")
# a person in English text: two or more capitalized words, with the particles of names between them ("Annelies
# de Groot", "Dr Kwame Asante-Boateng"; "Persian Gulf Pro League" too, told apart below); a run starts at a word
# that follows no hyphen or letter, so a long hyphenated chain is read once, not from each of its words
_NAME_WORD = r"[A-Z][a-z'’]+(?:-[A-Za-z'’]+)*+"
_NAME_EN = re.compile(rf"(?<![-\w]){_NAME_WORD}(?:\s+(?:(?:de|van|von|al|bin|da|del|der|la|le|dos|di)\s+)?{_NAME_WORD})+")
_CAPITALIZED = re.compile(rf"(?<![-\w]){_NAME_WORD}")
_POSSESSIVE = re.compile(r"['’]s?$")


def asks_person(question: str) -> bool:
    """Whether a Persian `question` asks who."""
    return bool(_WHO_FA.search(normalize(question)))


def person_names(text: str) -> list[list[str]]:
    """The capitalized runs of English `text` that may name a person, each as its capitalized words in lower case."""
    return [[_POSSESSIVE.sub("", w.lower()) for w in _CAPITALIZED.findall(run)] for run in _NAME_EN.findall(text)]


def person_scores(score: dict[int, float], text: Callable[[int], str], question: str, bonus: float,
                  common: Callable[[list[str]], set[str] | None]) -> dict[int, float]:
    """A who-question's paragraph scores: `bonus` more for a paragraph naming someone the question does not.

    A name is a capitalized run with a word that is no common English word (`common`: those of its words the
    dictionary knows, None when it cannot be read; "Persian Gulf Pro League" is no one) and none spelled like a
    question word (میکل تورسن is Mikkel Thorsen: the person asked about, not the answer)."""
    asked = {w for w in words(question) if len(w) >= 3}
    persian = [w for w in asked if not w.isascii()]
    names = {p: person_names(text(p)) for p in score}
    known = common(sorted({w for ns in names.values() for n in ns for w in n}))  # one lookup for them all
    if known is None:  # the dictionary cannot be read: no telling a person from a league
        return score

    @functools.cache
    def in_question(word: str) -> bool:
        return word in asked or any(likeness(word, q) >= MIN_LIKENESS for q in persian)

    out = dict(score)
    for p, ns in names.items():
        # a name's own words (not "Dr", "Lake") tell whose it is
        if any((own := [w for w in n if w not in known]) and not any(map(in_question, own)) for n in ns):
            out[p] += bonus
    return out

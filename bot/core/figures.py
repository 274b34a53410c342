"""Figures a sentence states and a passage holds: digits of any script, scale words ("146 هزار",
"1.2 billion") and Persian number words ("چهار هزار"), compared by value."""
from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from itertools import accumulate

from index.normalizer import normalize

_NUMBER = re.compile(r"\d+(?:[,٬]\d{3})*(?:[.٫/]\d+)?")
# Persian news writes large figures with a scale word ("146 هزار", "7 میلیارد و 860 میلیون"), an
# English answer with digits or its own word ("146,000", "7.86 billion"): both are compared as values.
# At most 15 digits are scaled (no figure in the news is larger; Decimal keeps 28 exactly), and a match
# starts only where a digit run does (else the regex retries every position of a long run).
_SCALES = {"هزار": 3, "thousand": 3, "میلیون": 6, "million": 6, "میلیارد": 9, "billion": 9, "بیلیون": 9,
           "تریلیون": 12, "trillion": 12}
_SCALED = re.compile(r"(?<![\d,٬.٫/])(\d{1,15}(?:[,٬]\d{3}){0,4}(?:[.٫/]\d{1,6})?)\s*(" + "|".join(_SCALES)
                     + r")\b", re.I)
_AND = re.compile(r"\s+(?:و|and)\s+$", re.I)


def _plain(number: str) -> str:
    """A number's canonical digits: separators removed, the decimal mark a point; a decimal ("3.50",
    "60٫850") loses its trailing zeros, a date ("1399/10/12") keeps them."""
    n = re.sub(r"[,٬]", "", number).replace("٫", ".")
    if "/" in n:
        return n.replace("/", ".")
    return n.rstrip("0").rstrip(".") if "." in n else n


def _compounds(text: str) -> list[tuple[list[Decimal], tuple[int, int]]]:
    """The figures written with a scale word, as compounds: the values of their parts joined by و /
    and ("7 میلیارد و 860 میلیون" → [7e9, 8.6e8]) and the span of text they cover."""
    out: list[tuple[list[Decimal], tuple[int, int]]] = []
    for m in _SCALED.finditer(text):
        # in a figure before a scale word, "/" is the Persian decimal mark ("60/850 میلیارد")
        value = Decimal(_plain(m.group(1).replace("/", "٫"))) * 10 ** _SCALES[m.group(2).lower()]
        if out and _AND.match(text[out[-1][1][1]:m.start()] or "x"):
            parts, (a, _) = out[-1]
            out[-1] = (parts + [value], (a, m.end()))
        else:
            out.append(([value], m.span()))
    return out


def _decimal(value: Decimal) -> str:
    """A value's canonical digits (1.2E+9 → "1200000000", 60.850 → "60.85")."""
    digits = format(value.normalize(), "f")
    return digits.rstrip("0").rstrip(".") if "." in digits else digits


# Up to three digits right after "<scale word> و" end a compound ("یکهزار و 355" is 1,355, "12 هزار و 500"
# 12,500). Persian only: English writes 2,000,300 with digits, and "2 million and 300 workers" is a list.
_DIGIT_TAIL = re.compile(r"\s+و\s+(\d{1,3})(?![\d,٬.٫/])")


def _bare(text: str, spans: list[tuple[int, int]], tails: bool = True) -> set[str]:
    """The numbers of `text` as written, outside `spans` (the figures already read with their scale word);
    without `tails`, not the ends of compounds either: 355 alone is not what "یکهزار و 355" says."""
    return {_plain(m.group()) for m in _NUMBER.finditer(text)
            if not any(a <= m.start() < b for a, b in spans)
            and (tails or not _is_tail(text, m.start(), m.end()))}


def _is_tail(text: str, start: int, end: int) -> bool:
    """Whether the number at text[start:end] ends a compound (a total is read from it instead)."""
    return end - start <= 3 and _ends_words(text, start)


# Persian number words (normalized spellings): news writes small and round figures this way
# ("چهار هزار نفر", "بیست و پنج درصد"), and an answer states them in digits
_FA_NUMBERS = {
    "یک": 1, "دو": 2, "سه": 3, "چهار": 4, "پنج": 5, "شش": 6, "هفت": 7, "هشت": 8, "نه": 9, "ده": 10,
    "یازده": 11, "دوازده": 12, "سیزده": 13, "چهارده": 14, "پانزده": 15, "شانزده": 16, "هفده": 17,
    "هجده": 18, "هیجده": 18, "نوزده": 19, "بیست": 20, "سی": 30, "چهل": 40, "پنجاه": 50, "شصت": 60,
    "هفتاد": 70, "هشتاد": 80, "نود": 90, "صد": 100, "یکصد": 100, "دویست": 200, "سیصد": 300,
    "چهارصد": 400, "پانصد": 500, "ششصد": 600, "هفتصد": 700, "هشتصد": 800, "نهصد": 900}
_FA_SCALES = {"هزار": 10 ** 3, "میلیون": 10 ** 6, "میلیارد": 10 ** 9, "بیلیون": 10 ** 9, "تریلیون": 10 ** 12}
_TOKEN = re.compile(r"[^\W\d_]+|\d+|[^\w\s]")  # punctuation ends a compound
_TAIL = re.compile(r"(?:" + "|".join(_FA_SCALES) + r")\s+و\s+$")  # what a compound's last part follows


_JOINED = re.compile(r"^(" + "|".join(sorted(_FA_NUMBERS, key=len, reverse=True)) + r")(" + "|".join(_FA_SCALES) + r")$")


def _tokens(text: str) -> Iterator[str]:
    """Number-word tokens, a scale written onto its number split off ("یکهزار" → یک, هزار)."""
    for tok in _TOKEN.findall(text):
        if (m := _JOINED.match(tok)) is not None:
            yield from m.groups()
        else:
            yield tok


def _word_values(text: str) -> tuple[set[str], set[str]]:
    """Values of Persian number words: "چهار هزار" → 4000, "سیصد و چهل و دو" → 342, and of digits ending
    such a compound: "یکهزار و 355" → 1355. Returns (all of them, those that end in digits)."""
    values: set[str] = set()
    tailed: set[str] = set()
    total = current = 0
    active = joined = digits = after_digits = False
    for tok in _tokens(text):
        if joined and tok.isdigit() and len(tok) <= 3:
            current += int(tok)  # "… هزار و 355"
            joined, digits = False, True
            continue
        joined = False
        if tok in _FA_NUMBERS:
            current += _FA_NUMBERS[tok]
            active = True
        elif tok in _FA_SCALES and (active or not after_digits):  # "12 هزار" is a figure of digits (_compounds)
            total += max(current, 1) * _FA_SCALES[tok]  # a scale alone is one of it: "هزار و 355" is 1,355
            current = 0
            active = True
        elif tok == "و" and active:
            joined = True
            continue  # "بیست و پنج": the compound goes on
        else:
            if active:
                values.add(str(total + current))
                if digits:
                    tailed.add(str(total + current))
            total = current = 0
            active = digits = False
        after_digits = tok[:1].isdigit() or (after_digits and tok in "/٫.,٬")
    if active:
        values.add(str(total + current))
        if digits:
            tailed.add(str(total + current))
    return values, tailed


def _tail_totals(norm: str, compounds: list[tuple[list[Decimal], tuple[int, int]]]) -> set[str]:
    """The totals of compounds that end in bare digits: "12 هزار و 500 نفر" → 12500."""
    return {_decimal(sum(parts, Decimal(0)) + int(tail.group(1))) for parts, (start, end) in compounds
            if (tail := _DIGIT_TAIL.match(norm, end)) is not None and not _ends_words(norm, start)}


def _ends_words(norm: str, start: int) -> bool:
    """Whether the figure at `start` continues a compound of words ("200 هزار" of "یک میلیون و 200 هزار"),
    which `_word_values` reads whole."""
    return _TAIL.search(norm, max(0, start - 16), start) is not None


def numbers_of(text: str) -> set[str]:
    """The numbers in `text`, digits of any script, thousands separators removed ("13,500" → "13500"),
    and the values of figures written with a scale word ("146 هزار", "1.2 billion") or in Persian
    words ("چهار هزار"): a compound gives its parts, their sums so far and its total."""
    norm = normalize(text)
    compounds = _compounds(norm)
    values = _bare(norm, [], tails=False)
    for parts, (start, _) in compounds:
        if _ends_words(norm, start):
            continue  # "200 هزار" of "یک میلیون و 200 هزار": the words' compound reads the whole (1,200,000)
        # a compound's later parts alone are not its figure ("860 million" of "7 میلیارد و 860 میلیون"),
        # unless the scales do not fall: then it is a list ("5 میلیون و 2 میلیارد")
        falling = all(a > b for a, b in zip(parts, parts[1:], strict=False))
        values |= {_decimal(v) for v in (parts[:1] if falling else parts)} | {_decimal(v) for v in accumulate(parts)}
    return values | _tail_totals(norm, compounds) | _word_values(norm)[0]


def numbers_found(sentence: str, texts: list[str]) -> bool:
    """Whether every number a sentence states is in the passages: a small model copies the names
    right and gets the figures wrong ("460 patients" where the article says 242). A figure with a
    scale word counts by its value ("146,000 troops" is "146 هزار نیرو"); two joined by و / and by
    their total or each on its own ("5 million and 2 billion" may be a list in English)."""
    norm = normalize(sentence)
    compounds = _compounds(norm)
    # Persian number words alone are not asked for (یک is also "a"), but a compound they begin and
    # digits end is one figure: "یکهزار و 355" states 1355, not 355
    need = _bare(norm, [span for _, span in compounds], tails=False) | _tail_totals(norm, compounds) \
        | _word_values(norm)[1]
    if not need and not compounds:
        return True
    have = numbers_of(" ".join(texts))
    # a compound that digits end is asked for by its total, already in `need`, and so is one that ends a
    # compound of words ("522 هزار" of "یک میلیون و 522 هزار")
    return need <= have and all(_decimal(sum(parts, Decimal(0))) in have or {_decimal(p) for p in parts} <= have
                                for parts, (start, end) in compounds
                                if _DIGIT_TAIL.match(norm, end) is None and not _ends_words(norm, start))

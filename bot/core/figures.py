"""Figures a sentence states and a passage holds: digits of any script, scale words ("146 هزار",
"1.2 billion") and Persian number words ("چهار هزار"), compared by value."""
from __future__ import annotations

import re
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


def _bare(text: str, spans: list[tuple[int, int]]) -> set[str]:
    """The numbers of `text` as written, outside `spans` (the figures already read with their scale word)."""
    return {_plain(m.group()) for m in _NUMBER.finditer(text)
            if not any(a <= m.start() < b for a, b in spans)}


# Persian number words (normalized spellings): news writes small and round figures this way
# ("چهار هزار نفر", "بیست و پنج درصد"), and an answer states them in digits
_FA_NUMBERS = {
    "یک": 1, "دو": 2, "سه": 3, "چهار": 4, "پنج": 5, "شش": 6, "هفت": 7, "هشت": 8, "نه": 9, "ده": 10,
    "یازده": 11, "دوازده": 12, "سیزده": 13, "چهارده": 14, "پانزده": 15, "شانزده": 16, "هفده": 17,
    "هجده": 18, "هیجده": 18, "نوزده": 19, "بیست": 20, "سی": 30, "چهل": 40, "پنجاه": 50, "شصت": 60,
    "هفتاد": 70, "هشتاد": 80, "نود": 90, "صد": 100, "یکصد": 100, "دویست": 200, "سیصد": 300,
    "چهارصد": 400, "پانصد": 500, "ششصد": 600, "هفتصد": 700, "هشتصد": 800, "نهصد": 900}
_FA_SCALES = {"هزار": 10 ** 3, "میلیون": 10 ** 6, "میلیارد": 10 ** 9}
_TOKEN = re.compile(r"[^\W\d_]+|\d+|[^\w\s]")  # punctuation ends a compound


def _word_values(text: str) -> set[str]:
    """Values of Persian number words: "چهار هزار" → 4000, "سیصد و چهل و دو" → 342."""
    values: set[str] = set()
    total = current = 0
    active = False
    for tok in _TOKEN.findall(text):
        if tok in _FA_NUMBERS:
            current += _FA_NUMBERS[tok]
            active = True
        elif tok in _FA_SCALES and active:
            total += max(current, 1) * _FA_SCALES[tok]
            current = 0
        elif tok == "و" and active:
            continue  # "بیست و پنج": the compound goes on
        else:
            if active:
                values.add(str(total + current))
            total = current = 0
            active = False
    if active:
        values.add(str(total + current))
    return values


def numbers_of(text: str) -> set[str]:
    """The numbers in `text`, digits of any script, thousands separators removed ("13,500" → "13500"),
    and the values of figures written with a scale word ("146 هزار", "1.2 billion") or in Persian
    words ("چهار هزار"): a compound gives its parts, their sums so far and its total."""
    norm = normalize(text)
    compounds = _compounds(norm)
    values = _bare(norm, [])
    for parts, _ in compounds:
        values |= {_decimal(v) for v in parts} | {_decimal(v) for v in accumulate(parts)}
    return values | _word_values(norm)


def numbers_found(sentence: str, texts: list[str]) -> bool:
    """Whether every number a sentence states is in the passages: a small model copies the names
    right and gets the figures wrong ("460 patients" where the article says 242). A figure with a
    scale word counts by its value ("146,000 troops" is "146 هزار نیرو"); two joined by و / and by
    their total or each on its own ("5 million and 2 billion" may be a list in English)."""
    norm = normalize(sentence)
    compounds = _compounds(norm)
    need = _bare(norm, [span for _, span in compounds])
    if not need and not compounds:
        return True
    have = numbers_of(" ".join(texts))
    return need <= have and all(_decimal(sum(parts, Decimal(0))) in have or {_decimal(p) for p in parts} <= have
                                for parts, _ in compounds)

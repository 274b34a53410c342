"""The one text toolkit: digits of the three scripts, sentence boundaries and Arabic-script letters.

Everything that converts digits, splits sentences or asks "is this Persian?" uses these, so the
normalizer, chunking, citation checks, dates and the channels agree on one definition."""
from __future__ import annotations

import re

# --- digits -------------------------------------------------------------------------------------
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
# a regex character class matching a digit of any of the three scripts
DIGIT = "[0-9۰-۹٠-٩]"
# Persian and Arabic-Indic digits → ASCII (as a mapping, so the normalizer can merge it into its table)
ASCII_DIGIT_MAP = {c: str(i) for digits in (PERSIAN_DIGITS, ARABIC_DIGITS) for i, c in enumerate(digits)}
_TO_ASCII = str.maketrans(ASCII_DIGIT_MAP)
_TO_PERSIAN = str.maketrans("0123456789", PERSIAN_DIGITS)


def ascii_digits(text: str) -> str:
    """Persian `۰–۹` and Arabic-Indic `٠–٩` digits replaced by ASCII ones."""
    return text.translate(_TO_ASCII)


def persian_digits(text: str) -> str:
    """ASCII digits replaced by Persian ones (how Persian readers expect numbers shown)."""
    return text.translate(_TO_PERSIAN)


_DIGIT_RUN = re.compile(r"[0-9]+")
_LETTER = re.compile(r"[A-Za-z\u0621-\u064A\u067E\u0686\u0698\u06A9\u06AF\u06CC]")  # letters, not digits


def persian_digits_in_persian(text: str) -> str:
    """`persian_digits` for the digits whose nearest letter before them is Persian: an English sentence
    quoted in a Persian answer keeps "PM2.5" and "160"."""
    def swap(m: re.Match[str]) -> str:
        before = _LETTER.findall(text[max(0, m.start() - 200):m.start()])
        return m.group() if before and before[-1].isascii() else persian_digits(m.group())
    return _DIGIT_RUN.sub(swap, text)


# --- sentences ----------------------------------------------------------------------------------
# the characters that end a sentence in Persian and English text; HARD_STOP leaves out the ellipsis,
# which may also trail off inside a sentence (a title is cut, a claim split, only at a hard stop)
STOP = "[.!?؟…]"
HARD_STOP = "[.!?؟]"
# A sentence ends at . ! ? ؟ … (optionally followed by closing quotes/brackets) and whitespace.
# (only from the first of a run of stops: trying every one of "....a" made splitting quadratic)
# a direction mark after the stop (copy-pasted Persian: "است.\u200f وقتی") still ends the sentence: the answer's
# checks read it without the mark, and a quote split otherwise showed a sentence without its [n]
_SENTENCE_END = re.compile(r"(?<![.!?؟…])" + STOP + r"+[»\"'”’)\]\u200e\u200f\u061c]*(?=\s+|$)|\n+")


# A full stop after a personal title followed by a name ("Dr. Sarabi") does not end a sentence: a
# model's answer cut there showed "the main suspect, Dr." as a sentence of its own. Only titles, and
# only before a capitalized word: "the U.S." or "etc." may well end a sentence, and a citation
# marker after the stop ("Dr. [1]") always ends one.
_TITLE = re.compile(r"\b(?:Dr|Mr|Mrs|Ms|Prof|Gen|Col|Lt|Capt|Sgt|Gov|Sen|Rep)\.$")
_NAME_NEXT = re.compile(r"\s+[A-Z]")
# Nor does the stop of a dotted abbreviation ("4:37 a.m. local time", "the U.S. envoy", "e.g. tents") before
# a lowercase word: an English sentence never starts with one, and a quote cut there began "local time at…".
_DOTTED = re.compile(r"\b(?:[A-Za-z]\.){2,}$")
_LOWER_NEXT = re.compile(r"[ \t\u00a0]+[a-z]")  # on the same line


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return (start, end) character spans of the sentences of `text`, whitespace trimmed."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.group(0) == "." and _TITLE.search(text, max(0, m.start() - 5), m.end()) \
                and _NAME_NEXT.match(text, m.end()) and "\n" not in text[m.end():m.end() + 2]:
            continue  # a title inside the sentence (a line break after it still ends one)
        if m.group(0) == "." and _DOTTED.search(text, max(0, m.start() - 8), m.end()) \
                and _LOWER_NEXT.match(text, m.end()) and "\n" not in text[m.end():m.end() + 2]:
            continue  # a dotted abbreviation inside the sentence
        spans.append((start, m.end()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def sentence_pieces(text: str) -> list[str]:
    """The sentences of `text` with their trailing whitespace, so the pieces join back to `text`."""
    spans = split_sentences(text)
    if not spans:
        return [text] if text else []
    cuts = [0] + [s for s, _ in spans[1:]] + [len(text)]
    return [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if a < b]


# --- scripts ------------------------------------------------------------------------------------
ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
LATIN = re.compile(r"[A-Za-z]")


def persian_share(text: str) -> float:
    """The share of `text`'s letters that are Arabic-script (0.0 when it has no letters)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for ch in letters if ARABIC_SCRIPT.match(ch)) / len(letters)

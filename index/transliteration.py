"""Consonant skeletons that let a Latin-script name find its Persian spelling and back.

"Tartus" and "طرطوس" both reduce to `trts`; "Khaju" and "خواجو" to `khj`; "Hmeimim" and "حمیمیم"
to `hmmm`. Vowels are dropped on both sides (Persian mostly omits them, and ا و ی stand for
vowels as often as for consonants), letters that sound alike share a class, and a word-final
silent ه / English h is dropped. Only skeletons of three or more letters are used, so short
common words do not collide.
"""
from __future__ import annotations

import re

_FA = {
    "ب": "b", "پ": "p", "ت": "t", "ط": "t", "ث": "s", "س": "s", "ص": "s", "ج": "j", "چ": "ch",
    "ح": "h", "ه": "h", "خ": "kh", "د": "d", "ذ": "z", "ز": "z", "ض": "z", "ظ": "z", "ر": "r",
    "ژ": "zh", "ش": "sh", "غ": "gh", "ق": "gh", "ف": "f", "ک": "k", "گ": "g", "ل": "l", "م": "m",
    "ن": "n",
}
_FA_VOWELISH = set("اآویعءئؤأإ")
_EN_DIGRAPHS = [("kh", "1"), ("sh", "2"), ("ch", "3"), ("zh", "4"), ("gh", "5"), ("ph", "f"), ("ck", "k"),
                ("q", "5"), ("x", "ks"), ("c", "k"), ("w", "v"), ("th", "t")]

_EN_BACK = {"1": "kh", "2": "sh", "3": "ch", "4": "zh", "5": "gh"}
_LATIN_WORD = re.compile(r"^[a-z]+$")
MIN_CHARS = 3


def skeleton_fa(word: str) -> str:
    """Consonant skeleton of a (normalized) Persian word, '' when too short or not Persian."""
    if word.endswith("ه") and len(word) > 2:
        word = word[:-1]
    units = []
    for ch in word:
        if ch in _FA_VOWELISH:
            continue
        sym = _FA.get(ch)
        if sym is None:
            return ""
        units.append(sym)
    out = "".join(units)
    return out if len(out) >= MIN_CHARS else ""


def skeleton_en(word: str) -> str:
    """Consonant skeleton of a lower-case Latin word, '' when too short."""
    if not _LATIN_WORD.match(word):
        return ""
    w = re.sub(r"(.)\1+", r"\1", word)  # doubled letters: Russia, Hmeimim's mm stay apart
    if w.endswith("h") and len(w) > 3 and w[-2] in "aeiou":
        w = w[:-1]  # Zayandeh, Khamenei's silent final h
    for a, b in _EN_DIGRAPHS:
        w = w.replace(a, b)
    # v is written و, which Persian also uses as a vowel, except the Russian final -ov/-ev → ف
    w = w[:-1] + "f" if w.endswith("v") else w
    out = "".join(_EN_BACK.get(ch, ch) for ch in w if ch not in "aeiouyv")
    return out if len(out) >= MIN_CHARS else ""


# Persian letters read as Latin, for comparing a name's full spelling (not just its consonants)
_FA_ROMAN = {**_FA, "ا": "a", "آ": "a", "و": "v", "ی": "i", "ع": "", "ء": "", "ئ": "i", "ؤ": "v", "أ": "a",
             "إ": "e"}
_EN_ROMAN = [("kh", "1"), ("sh", "2"), ("ch", "3"), ("zh", "4"), ("gh", "5"), ("ph", "f"), ("ck", "k"),
             ("q", "5"), ("x", "ks"), ("c", "k"), ("w", "v"), ("th", "t"), ("ou", "u"), ("ee", "i"), ("oo", "u"),
             ("y", "i")]
_VOWELS = set("aeiouv")
# a Latin vowel written with the Persian letter that spells it (o/u as و, e as ی) is evidence for
# the spelling: cheaper than dropping the vowel, so Mosul prefers موصل to مثل (both `msl`)
_SAME_VOWEL = {("o", "v"), ("u", "v"), ("e", "i")}
_WRITTEN_VOWEL = 0.1


def _roman_en(word: str) -> str:
    w = re.sub(r"(.)\1+", r"\1", word.lower())
    for a, b in _EN_ROMAN:
        w = w.replace(a, b)
    return w


def _roman_fa(word: str) -> str:
    out = "".join(_FA_ROMAN.get(ch, ch) for ch in word)
    for a, b in _EN_ROMAN[:5]:
        out = out.replace(a, b)
    return re.sub(r"(.)\1+", r"\1", out)


def likeness(latin: str, persian: str) -> float:
    """How alike a Latin name and a Persian word are, 0–1, vowels included.

    Consonant skeletons collide (Delvari, دلار 'dollar' and دلواری all reduce to `dlr`); this
    compares the full spellings by an edit distance in which Persian's unwritten short vowels
    cost little (an English vowel may be missing) and vowel letters may stand for each other.
    """
    a, b = _roman_en(latin), _roman_fa(persian)
    if not a or not b:
        return 0.0
    prev = [j * 1.0 for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        cur = [prev[0] + (0.3 if a[i - 1] in _VOWELS else 1.0)]
        for j in range(1, len(b) + 1):
            x, y = a[i - 1], b[j - 1]
            sub = 0.0 if x == y else _WRITTEN_VOWEL if (x, y) in _SAME_VOWEL else 0.3 if x in _VOWELS and y in _VOWELS \
                else 1.0
            cur.append(min(prev[j - 1] + sub, prev[j] + (0.3 if x in _VOWELS else 1.0),
                           cur[j - 1] + (0.5 if y in _VOWELS else 1.0)))
        prev = cur
    return max(0.0, 1.0 - prev[-1] / max(len(a), len(b)))

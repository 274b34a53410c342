"""The one Persian/English normalizer used for indexing, queries and citation checks.

Stored and displayed text stays exactly as published; these functions only build the
*matching* form. Rules, and why:

1. NFKC folds Arabic presentation forms (ﻙ ﻱ ﷲ …, common in PDFs and old sites) and
   full-width Latin into their base letters.
2. Arabic Yeh `ي` (U+064A) and Alef Maksura `ى` (U+0649) → Persian Yeh `ی` (U+06CC); Arabic
   Kaf `ك` (U+0643) → Persian Keheh `ک` (U+06A9). Older Persian sites (and Arabic keyboards)
   type the Arabic code points; readers cannot see the difference, search must not either.
3. Teh Marbuta `ة` and Heh-with-Yeh `ۀ` → `ه`; Hamza carriers `أ إ ٱ` → `ا`, `آ` → `ا`, `ؤ` → `و`,
   `ئ` → `ی`: the same word is spelled with and without them (رئیس / رییس, مسئول / مسوول).
4. Arabic diacritics (harakat U+064B–U+065F, superscript alef U+0670) and tatweel `ـ` are removed:
   they are optional decoration in Persian and break exact matching.
5. Persian `۰–۹` and Arabic-Indic `٠–٩` digits → ASCII `0–9`: news mixes all three scripts.
6. ZWNJ (U+200C) becomes a word break, ZWJ/BOM/bidi marks are deleted. Because a pasted text may
   lose its ZWNJ (رئیس‌جمهور → رئیسجمهور) while another writes a space (رئیس جمهور), the keyword
   tokenizer also emits each pair of adjacent words joined, so all three spellings share a token.
7. Lower-case (English) and whitespace collapsed.
"""
from __future__ import annotations

import re
import unicodedata

from .text import ASCII_DIGIT_MAP

ZWNJ = "\u200c"
_CHAR_MAP = {
    "\u064a": "\u06cc", "\u0649": "\u06cc", "\u0626": "\u06cc",  # ي ى ئ → ی
    "\u0643": "\u06a9",  # ك → ک
    "\u0629": "\u0647", "\u06c0": "\u0647", "\u06c1": "\u0647",  # ة ۀ ہ → ه
    "\u0623": "\u0627", "\u0625": "\u0627", "\u0671": "\u0627", "\u0622": "\u0627",  # أ إ ٱ آ → ا
    "\u0624": "\u0648",  # ؤ → و
    "\u200c": " ",  # ZWNJ → word break (see rule 6)
}
_CHAR_MAP.update(ASCII_DIGIT_MAP)  # Persian and Arabic-Indic digits (rule 5)
_DELETE = "".join(
    [chr(c) for c in range(0x064B, 0x0660)]
    + ["\u0670", "\u0640", "\u200d", "\ufeff", "\u200e", "\u200f", "\u202a", "\u202b",
       "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u00ad"]
)
_TABLE = str.maketrans({**_CHAR_MAP, **{c: None for c in _DELETE}})
_SPACE_RE = re.compile(r"\s+")
_TOKEN_RE = re.compile(r"[^\W_]+", re.UNICODE)

# Function words that carry no topic; dropping them keeps BM25 and sentence scoring on content.
_STOPWORDS_RAW = (
    """
    و در به از که این را با است برای آن یک تا بر می هم نیز شد شده شود کرد کرده کند ها های
    او ما من تو شما آنها ایشان وی اما یا اگر هر چه چرا کجا کی چی چیست کیست چگونه چطور آیا
    بود بودن باشد هست نیست خود پس بین روی زیر دیگر همه همین آنچه دارد داشت خواهد گفت
    ای اند ام ایم اید بی نه یا پیش درباره های‌ ترین تر نمی را
    the a an of to in on at for by with from and or but is are was were be been being it its
    this that these those what which who whom whose when where why how does do did has have had
    as into about than then there their they them he she his her we our you your i me my not no
    can could would should will may might shall also after before over under between against
    """
)


def normalize(text: str) -> str:
    """Return the matching form of `text` (rules 1–7 in the module doc); display text is untouched."""
    text = unicodedata.normalize("NFKC", text).translate(_TABLE)
    return _SPACE_RE.sub(" ", text).strip().lower()


def compact(text: str) -> str:
    """Return `normalize(text)` with every space removed, for containment checks across spacings."""
    return normalize(text).replace(" ", "")


def words(text: str) -> list[str]:
    """Split normalized text into word tokens (letters and digits)."""
    return _TOKEN_RE.findall(normalize(text))


def content_words(text: str) -> list[str]:
    """Words of `text` without stopwords and one-letter tokens."""
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 1]


def tokenize(text: str) -> list[str]:
    """Keyword-search tokens: content words plus adjacent word pairs joined (rule 6)."""
    return tokenize_words(words(text))


def tokenize_words(ws: list[str]) -> list[str]:
    """`tokenize` for text already split by `words` (indexing splits once for several uses)."""
    tokens = [w for w in ws if w not in STOPWORDS and len(w) > 1]
    tokens.extend(a + b for a, b in zip(ws, ws[1:], strict=False) if len(a) + len(b) > 3)
    return tokens


STOPWORDS = frozenset(normalize(w) for w in _STOPWORDS_RAW.split())

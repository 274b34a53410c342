"""Citation markers in generated answers: parse every form, drop dangling ones, renumber; the sentence checks
(whether a sentence is supported: bot/core/support.py)."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from index.normalizer import STOPWORDS, normalize, tokenize, words
from index.text import DIGIT, HARD_STOP, STOP, ascii_digits, persian_share, split_sentences

# [1]  [1, 2]  [1][2]  [۱]  [۱، ۲]  [1;2]  [1-3]  【1】
MARKER = re.compile(rf"[\[【]\s*({DIGIT}+(?:\s*(?:[,،;]|-|–)\s*{DIGIT}+)*)\s*[\]】]")


def marker_numbers(group: str) -> list[int]:
    """The source numbers inside one marker's brackets (ranges expanded)."""
    out: list[int] = []
    for part in re.split(r"\s*[,،;]\s*", ascii_digits(group)):
        if re.fullmatch(r"\d+\s*[-–]\s*\d+", part):
            a, b = (int(x) for x in re.split(r"\s*[-–]\s*", part))
            out.extend(range(a, b + 1) if 0 < b - a < 20 else [a, b])
        elif part.strip().isdigit():
            out.append(int(part))
    return out


@dataclass
class Claim:
    """One sentence of a generated answer and the sources it cites (original numbers)."""

    text: str
    sources: list[int]

    def marked(self) -> str:
        """The sentence with its markers after it, as `split_claims` reads it back."""
        return " ".join([self.text, *(f"[{n}]" for n in self.sources)])


# A link, an HTML tag or a markdown link/image in a reply sentence is not something a news passage
# supports, and a channel may render it (Telegram makes URLs clickable): such a sentence is dropped.
_MARKUP = re.compile(r"https?://|\bwww\.|<\s*/?\s*[a-zA-Z!][^>]*>|\]\(|!\[", re.I)


def visible(text: str) -> str:
    """`text` without control and format characters (bidi overrides, zero-width spaces, escape
    codes), which the checks never see (normalization removes them) and a reader must not either;
    whitespace and the zero-width non-joiner (part of Persian spelling) stay."""
    return "".join(ch if ch.isspace() or ch == "\u200c" or unicodedata.category(ch) not in ("Cc", "Cf")
                   else "" for ch in text)


def split_claims(text: str) -> list[Claim]:
    """Split an answer into sentences with their markers; a marker opening a sentence belongs to
    the sentence before it ("… است. [1] بعدی")."""
    claims: list[Claim] = []
    text = re.sub(rf"({HARD_STOP})\s*(?=[\[【])", r"\1 ", visible(text))  # "پایان.[1]" → "پایان. [1]"
    for s, e in split_sentences(text):
        sent = text[s:e]
        lead = re.match(r"^(\s*" + MARKER.pattern + r")+", sent)
        if lead and claims:
            claims[-1].sources += [n for m in MARKER.finditer(lead.group(0)) for n in marker_numbers(m.group(1))]
            sent = sent[lead.end():]
        nums = [n for m in MARKER.finditer(sent) for n in marker_numbers(m.group(1))]
        body = without_markers(sent)
        if body:
            claims.append(Claim(body, nums))
    return claims


FOREIGN_SHARE = 0.8  # a sentence this much in the other script is in the other language


def foreign(sentence: str, lang: str) -> bool:
    """Whether `sentence` is written in the other language than `lang`: almost all its letters in the
    other script, over a few words — an English sentence naming a Persian title («…») or a Persian one
    naming "Samsung Electronics", and a one-word answer ("Tartus."), are not."""
    if len(sentence.split()) < 4 or not any(ch.isalpha() for ch in sentence):
        return False
    share = persian_share(sentence)
    return share >= FOREIGN_SHARE if lang == "en" else share <= 1 - FOREIGN_SHARE


def keep_language(text: str, lang: str) -> tuple[str, int]:
    """`text` without its sentences in another language than `lang`, and how many there were: a small
    model copies a Persian source sentence into an English answer (a whole answer in the wrong language
    is retried first); unchanged when every sentence is in `lang`."""
    claims = split_claims(flatten_markdown(text))
    kept = [c for c in claims if not foreign(c.text, lang)]
    if len(kept) == len(claims):
        return text, 0
    return " ".join(c.marked() for c in kept), len(claims) - len(kept)


def content_words(text: str) -> set[str]:
    """The normalized words of `text` that are not stopwords."""
    return {w for w in words(text) if w not in STOPWORDS}


def says_something(sentence: str) -> bool:
    """Whether `sentence` has a word a passage could state: not only stopwords and single letters
    ("The [1].", "It [1].", "X [1]."); a figure counts ("It was 5 [1].")."""
    return any(len(w) > 1 or w.isdigit() for w in content_words(sentence))


def repeats_question(sentence: str, asked: set[str]) -> bool:
    """Whether `sentence` only repeats the question's words (`asked`, its `content_words`): small
    models answer "Which project does he expect to open?" with "He expects the project to open."
    (Titles do not count: a news title is often the passage's own first sentence.)"""
    said = content_words(sentence)
    return bool(asked) and bool(said) and said <= asked


def lexical_support(sentence: str, passage: str) -> float:
    """Share of the sentence's content words found in the passage (normalized)."""
    words = {t for t in tokenize(sentence) if " " not in t}
    if not words:
        return 1.0
    ptoks = set(tokenize(passage))
    return len(words & ptoks) / len(words)


@dataclass
class CheckedAnswer:
    """A renumbered answer: text with [n] markers, the sources used (original numbers, in new order)."""

    text: str
    used: list[int]
    dropped: int
    dangling: int
    cited: int  # sentences that carried at least one valid marker
    attributed: list[int] = field(default_factory=list)  # sources (original numbers) only added by attribution
    attributed_sentences: int = 0
    no_answer: bool = False  # the model said the sources do not answer the question


def check_answer(text: str, sources: list[str], supported: Callable[[str, list[str]], bool],
                 keep_uncited: bool = False, attribute: Callable[[str], list[int]] | None = None,
                 citable: set[int] | None = None, strength: Callable[[str, int], float] | None = None
                 ) -> CheckedAnswer:
    """Keep supported sentences with their sources; renumber markers in order of first use.

    `sources[i]` is the text of source i+1; `supported(sentence, [texts]) -> bool` decides support.
    Markers pointing to no source are dropped. A sentence its markers' sources support keeps them
    (of several, those whose source supports it on its own, if any does).
    Otherwise, when `attribute(sentence) -> [source numbers]` is given, the sentence is attributed to
    the sources that support it (a small model often writes no marker, or the wrong one), and kept
    only if one does. Uncited, unattributed sentences are removed unless `keep_uncited`.
    `citable` (source numbers; None = all): only these may be cited — markers to other sources are
    treated as wrong (the sentence may still be attributed to a citable one).
    `strength(sentence, source number)`: of several markers that each support the sentence on its own,
    only the strongest is kept (one claim, one paragraph); markers that support it only together stay.
    """
    claims = split_claims(flatten_markdown(text))
    n = len(sources)
    order: dict[int, int] = {}
    by_model: set[int] = set()
    by_attribution: set[int] = set()
    out: list[str] = []
    dropped = dangling = cited = attributed_sentences = 0
    no_answer = False
    for c in claims:
        valid = list(dict.fromkeys(x for x in c.sources if 1 <= x <= n))
        dangling += len([x for x in c.sources if not 1 <= x <= n])
        # "… [1]", "The [1]." (no word a passage could support), or a link or markup: nothing to show
        if not says_something(c.text) or _MARKUP.search(c.text):
            dropped += 1
            continue
        if valid:
            cited += 1
        valid = [x for x in valid if citable is None or x in citable]
        if valid and supported(c.text, [sources[x - 1] for x in valid]):
            if len(valid) > 1:  # "… [1][4]": keep the markers whose passage supports it on its own
                alone = [x for x in valid if supported(c.text, [sources[x - 1]])]
                if len(alone) > 1 and strength is not None:
                    # a small model marks every passage of an article ("… three zones [1][2][3]"), and
                    # each passes the loose support check; the one that states it best is the citation
                    power = {x: strength(c.text, x) for x in alone}
                    alone = [x for x in alone if power[x] >= max(power.values())]
                valid = alone or valid  # only together: a sentence joining two passages keeps both
            by_model.update(valid)
        else:
            if is_no_answer(c.text):
                no_answer = True
                dropped += 1
                continue
            found = [x for x in (attribute(c.text) if attribute else [])
                     if 1 <= x <= n and (citable is None or x in citable)]
            if not found:
                if not valid and keep_uncited:
                    out.append(c.text)
                else:
                    dropped += 1
                continue
            valid = found
            by_attribution.update(found)
            attributed_sentences += 1
        marks = "".join(f"[{order.setdefault(x, len(order) + 1)}]" for x in valid)
        out.append(f"{c.text} {marks}")
    return CheckedAnswer(" ".join(out), list(order), dropped, dangling, cited,
                         [x for x in order if x in by_attribution and x not in by_model],
                         attributed_sentences, no_answer)


# "the articles do not say", "no information", "پیدا نکردم", "اشاره‌ای نشده" … (matched on normalized text)
_NO_ANSWER = re.compile(
    r"(\b(do|does|did)\s*(not|n't)\s+(say|mention|contain|provide|specify|state|include|discuss|answer)"
    r"|\bno\s+(information|mention|details?|answer)\b|\bnot\s+(mentioned|specified|stated|provided|available)"
    r"|\b(cannot|can't|could\s*not|couldn't|unable\s+to)\s+(find|answer|determine)"
    r"|چیزی\s*نمی\s*گوی|اطلاعاتی\s*(در|وجود|نیست|ندار)|ذکر\s*نشده|اشاره\s*ای\s*نشده|اشاره\s*نشده"
    r"|پیدا\s*نکرد|نمی\s*توان\s*پاسخ|پاسخی\s*(در|وجود|نیست))")


def is_no_answer(sentence: str) -> bool:
    """True for a sentence saying the sources hold no answer ("the articles do not say …")."""
    return bool(_NO_ANSWER.search(normalize(sentence).replace("\u200c", " ")))


_BULLET = re.compile(rf"^\s*(?:[-*•+–]|\(?{DIGIT}{{1,2}}[.)\-:]|\(?[a-zA-Z][.)])\s+")
_LABEL = re.compile(r"^\s*(?:\*\*|__)([^*_\n]{1,60})(?:\*\*|__)\s*[:：]?\s*")
_PREFIX = re.compile(r"^\s*(?:answer|final answer|response|پاسخ|جواب)\s*[:：]\s*", re.I)
_SECTION_END = re.compile(r"^\s*(?:#+\s*)?(?:sources?|references?|citations?|منابع|منبع)\s*[:：]?\s*$", re.I)
_END = re.compile(STOP + r"\s*$")
_DIGIT_RUN = re.compile(r"[0-9\u06F0-\u06F9\u0660-\u0669]+")


def flatten_markdown(text: str) -> str:
    """Turn list and heading output into plain sentences before the checks: bullets and numbering
    removed, headings and bold labels dropped, each item ended as a sentence, an echoed
    "Sources:" block cut off, a number written in two digit scripts made one."""
    lines: list[str] = []
    for raw in text.replace("\r", "").split("\n"):
        line = raw.strip()
        if not line or line.startswith("```") or re.fullmatch(r"[-=*_|: ]{3,}", line):
            continue
        if _SECTION_END.match(line) and lines:
            break
        heading = line.startswith("#")
        line = _PREFIX.sub("", re.sub(r"^#+\s*", "", line))
        line = _BULLET.sub("", line)
        label = _LABEL.match(line)
        if label:
            rest = line[label.end():]
            line = rest if rest.strip() else label.group(1)
            heading = heading or not rest.strip()
        line = re.sub(r"(\*\*|__|\*|`)", "", line).strip()
        # a small model writes "۴7" for 47: one number in two scripts, read as ASCII (the channels choose the script)
        line = _DIGIT_RUN.sub(lambda m: ascii_digits(m.group()) if not m.group().isascii()
                              and re.search(r"[0-9]", m.group()) else m.group(), line)
        body = MARKER.sub("", line).strip()
        # a heading: marked as one, or a short line ending in a colon with no source number
        if not body or heading and not MARKER.search(line) or body.endswith((":", "：")) and len(body.split()) <= 8 \
                and not MARKER.search(line):
            continue
        if not _END.search(body):
            line = line.rstrip(":： ") + "."
        lines.append(line)
    return " ".join(lines)


def without_markers(text: str) -> str:
    """The text as shown, without its citation markers (not normalized; no space before punctuation)."""
    return re.sub(r"\s+([.!?؟،,;:])", r"\1", " ".join(MARKER.sub(" ", text).split()))


def strip_markers(text: str) -> str:
    """The answer without citation markers (for language checks)."""
    return normalize(MARKER.sub(" ", text))

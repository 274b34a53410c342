"""Citation markers in generated answers: parse every form, drop dangling ones, renumber, check support."""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.chunking import split_sentences
from index.normalizer import normalize, tokenize

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
# [1]  [1, 2]  [1][2]  [۱]  [۱، ۲]  [1;2]  [1-3]  【1】
MARKER = re.compile(r"[\[【]\s*([0-9۰-۹٠-٩]+(?:\s*(?:[,،;]|-|–)\s*[0-9۰-۹٠-٩]+)*)\s*[\]】]")


def marker_numbers(group: str) -> list[int]:
    """The source numbers inside one marker's brackets (ranges expanded)."""
    out: list[int] = []
    for part in re.split(r"\s*[,،;]\s*", group.translate(_DIGITS)):
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


def split_claims(text: str) -> list[Claim]:
    """Split an answer into sentences with their markers; a marker opening a sentence belongs to
    the sentence before it ("… است. [1] بعدی")."""
    claims: list[Claim] = []
    text = re.sub(r"([.!?؟])\s*(?=[\[【])", r"\1 ", text)  # "پایان.[1]" → "پایان. [1]"
    for s, e in split_sentences(text):
        sent = text[s:e]
        lead = re.match(r"^(\s*" + MARKER.pattern + r")+", sent)
        if lead and claims:
            claims[-1].sources += [n for m in MARKER.finditer(lead.group(0)) for n in marker_numbers(m.group(1))]
            sent = sent[lead.end():]
        nums = [n for m in MARKER.finditer(sent) for n in marker_numbers(m.group(1))]
        body = " ".join(MARKER.sub(" ", sent).split())
        body = re.sub(r"\s+([.!?؟،,;:])", r"\1", body)
        if body:
            claims.append(Claim(body, nums))
    return claims


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


def check_answer(text: str, sources: list[str], supported, keep_uncited: bool = False) -> CheckedAnswer:
    """Keep cited, supported sentences; renumber markers in order of first use.

    `sources[i]` is the text of source i+1; `supported(sentence, [texts]) -> bool` decides support.
    Markers pointing to no source are dropped. A sentence whose markers all dangle, or that its
    sources do not support, is removed; uncited sentences are kept only when `keep_uncited`
    (an answer that cites nothing, such as "the articles do not say").
    """
    claims = split_claims(text)
    n = len(sources)
    order: dict[int, int] = {}
    out: list[str] = []
    dropped = dangling = cited = 0
    for c in claims:
        valid = list(dict.fromkeys(x for x in c.sources if 1 <= x <= n))
        dangling += len([x for x in c.sources if not 1 <= x <= n])
        if not valid:
            if keep_uncited:
                out.append(c.text)
            else:
                dropped += 1
            continue
        cited += 1
        if not supported(c.text, [sources[x - 1] for x in valid]):
            dropped += 1
            continue
        marks = "".join(f"[{order.setdefault(x, len(order) + 1)}]" for x in valid)
        out.append(f"{c.text} {marks}")
    return CheckedAnswer(" ".join(out), list(order), dropped, dangling, cited)


def strip_markers(text: str) -> str:
    """The answer without citation markers (for language checks)."""
    return normalize(MARKER.sub(" ", text))

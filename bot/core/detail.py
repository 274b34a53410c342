"""Which paragraph of an article states the asked detail: an English question's words, by their Persian
dictionary translations, matched in each paragraph and weighted by how few of the article's paragraphs
hold them (the words every paragraph shares name the story, not the detail)."""
from __future__ import annotations

import math
from collections.abc import Callable

from index.normalizer import words

SUFFIX_SLACK = 3  # a Persian word may carry up to this many more letters: سخنگو → سخنگوی, دوم → دومی


def word_forms(text: str) -> set[str]:
    """A paragraph's words and their shortenings by up to `SUFFIX_SLACK` letters (at least 3 left), so a
    translation matches the inflected word: a suffix (ی, ها, ان) or an ezafe does not hide it."""
    out: set[str] = set()
    for w in words(text):
        out.add(w)
        for cut in range(1, SUFFIX_SLACK + 1):
            if len(w) - cut < 3:
                break
            out.add(w[:-cut])
    return out


def detail_scores(terms: list[tuple[str, list[str]]], articles: dict[int, list[int]], text: Callable[[int], str],
                  df: Callable[[str], int], n_docs: int) -> dict[int, float]:
    """Each paragraph's share of its article's best detail match, in [0, 1].

    A question word counts by the rarest of its translations in the index (IDF), times how few of the
    article's paragraphs hold one of them (log((n + 1) / (holding + 0.5))): the words of the story's
    frame ("the research institute's head") are in the lead and its neighbours, the asked detail
    ("ranks second after tea") in one paragraph. `articles`: article → its paragraphs' positions."""
    def idf(tok: str) -> float:
        d = df(tok)
        return math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) if d > 0 else 0.0

    weights = [max((idf(t) for t in trans), default=0.0) for _, trans in terms]
    out: dict[int, float] = {}
    for positions in articles.values():
        forms = {p: word_forms(text(p)) for p in positions}
        held = {p: [any(t in forms[p] for t in trans) for _, trans in terms] for p in positions}
        n = len(positions)
        holding = [sum(held[p][i] for p in positions) for i in range(len(terms))]
        w = [x * math.log((n + 1) / (h + 0.5)) for x, h in zip(weights, holding, strict=True)]
        score = {p: sum(wi for wi, m in zip(w, held[p], strict=True) if m) for p in positions}
        best = max(score.values(), default=0.0)
        for p in positions:
            out[p] = score[p] / best if best > 0 else 0.0
    return out

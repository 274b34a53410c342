"""Which paragraph of an article answers: the bonuses for stating what the question asks for (a number of what it
counts, a person it does not name, its rarer words' translations), added to the paragraph scores after the plain
ranking the refusal signals read."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bot.core.answertype import asks_person, person_scores, typed_scores, unit_candidates
from bot.core.detail import detail_scores
from bot.core.options import SearchOptions
from index.dictionary import Dictionary
from index.snapshot import Snapshot

DETAIL_ARTICLES = 3  # articles whose paragraphs the dictionary re-orders (bot/core/detail.py)


def asks_who(english: bool, question: str, opts: SearchOptions) -> float:
    """The person bonus a question earns: a Persian question asking who (English ones have their words to go by)."""
    return opts.person_bonus if not english and opts.person_bonus and asks_person(question) else 0.0


def boosted_scores(score: dict[int, float], snap: Snapshot, arts: np.ndarray, pool: list[int], english: bool,
                   question: str, query: str, opts: SearchOptions, bonus: float, units: set[str],
                   terms: list[tuple[str, list[str]]], who: float,
                   dictionary: Callable[[], Dictionary | None]) -> dict[int, float]:
    """Paragraph scores with the answer-type bonuses: `bonus` (+ `opts.unit_bonus` for a number of one of `units`)
    for a quantity question, `who` for a paragraph naming someone a who-question does not, up to
    `opts.detail_weight` for the dictionary translations `terms` of an English question's words (`dictionary`:
    the current file, asked for only when a bonus reads it)."""
    translate = bool(units) and not english and opts.unit_translation
    current = dictionary() if who or translate else None
    if current is not None and translate:
        # a Persian question over English news: what it counts as the English words right after a number
        units = units | current.english_for(units, {w for p in score for w in unit_candidates(snap.text(p))})
    boosted = typed_scores(score, snap.text, query, bonus, opts.unit_bonus, units) if bonus else score
    if who and current is not None:
        boosted = person_scores(boosted, snap.text, question, who, current.known)
    if terms:
        # the articles a reader sees first (all 8 of the pool: the same dev-set numbers, 6–9 ms more per question)
        best = set(pool[:DETAIL_ARTICLES])
        by_article: dict[int, list[int]] = {}
        for p in score:
            if int(arts[p]) in best:
                by_article.setdefault(int(arts[p]), []).append(p)
        detail = detail_scores(terms, by_article, snap.text, snap.lexical.df, snap.lexical.n_alive)
        boosted = {p: v + opts.detail_weight * detail.get(p, 0.0) for p, v in boosted.items()}
    return boosted

"""bot/core/selection.py: at most a few passages per article, more for a clearly dominant one."""
from __future__ import annotations

import numpy as np

from bot.core.options import Hit, SearchOptions
from bot.core.selection import cap_per_article, select_hits

# positions 0-4 belong to article 0, 5-7 to article 1, 8-9 to article 2
ARTICLES = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2, 2])


def _hits(pairs: list[tuple[int, float]]) -> list[Hit]:
    return [Hit(p, s) for p, s in pairs]


def test_cap_per_article_keeps_the_best_of_each_up_to_k() -> None:
    hits = _hits([(0, 0.9), (1, 0.8), (5, 0.7), (2, 0.6), (6, 0.5), (8, 0.4), (7, 0.3)])
    assert [h.pos for h in cap_per_article(hits, ARTICLES, 2, 10)] == [0, 1, 5, 6, 8]
    assert [h.pos for h in cap_per_article(hits, ARTICLES, 1, 10)] == [0, 5, 8]
    assert [h.pos for h in cap_per_article(hits, ARTICLES, 2, 3)] == [0, 1, 5]
    assert cap_per_article([], ARTICLES, 2, 5) == []
    # an article in another language than the question may keep more (never fewer)
    assert [h.pos for h in cap_per_article(hits, ARTICLES, 2, 10, {0}, 3)] == [0, 1, 5, 2, 6, 8]
    assert [h.pos for h in cap_per_article(hits, ARTICLES, 2, 10, {0}, 1)] == [0, 1, 5, 6, 8]


def test_a_dominant_article_fills_more_slots() -> None:
    opts = SearchOptions(k=5, per_article=2, dominant_margin=0.3, dominant_cap=4)
    # article 0 leads with 1.0; the next article's best (0.6) is more than 30 % below
    hits = _hits([(0, 1.0), (1, 0.95), (2, 0.9), (3, 0.85), (4, 0.8), (5, 0.6), (8, 0.5)])
    assert [h.pos for h in select_hits(hits, ARTICLES, opts)] == [0, 1, 2, 3, 5]


def test_a_close_second_article_keeps_the_per_article_cap() -> None:
    opts = SearchOptions(k=5, per_article=2, dominant_margin=0.3, dominant_cap=4)
    hits = _hits([(0, 1.0), (1, 0.95), (2, 0.9), (5, 0.8), (3, 0.75), (6, 0.7), (8, 0.5), (9, 0.4)])
    assert [h.pos for h in select_hits(hits, ARTICLES, opts)] == [0, 1, 5, 6, 8]


def test_the_margin_is_relative_to_the_leader() -> None:
    hits = _hits([(0, 1.0), (1, 0.9), (2, 0.8), (5, 0.7)])
    exactly = SearchOptions(k=4, per_article=1, dominant_margin=0.3, dominant_cap=3)
    assert [h.pos for h in select_hits(hits, ARTICLES, exactly)] == [0, 1, 2, 5]  # 0.7 ≤ 1.0 × (1 − 0.3)
    stricter = SearchOptions(k=4, per_article=1, dominant_margin=0.35, dominant_cap=3)
    assert [h.pos for h in select_hits(hits, ARTICLES, stricter)] == [0, 5]


def test_a_single_article_is_dominant() -> None:
    opts = SearchOptions(k=5, per_article=2, dominant_cap=3)
    hits = _hits([(0, 1.0), (1, 0.9), (2, 0.8), (3, 0.7)])
    assert [h.pos for h in select_hits(hits, ARTICLES, opts)] == [0, 1, 2]


# HybridSearcher only calls select_hits with hits, but the function is public and cap_per_article takes []
def test_no_hits_select_nothing() -> None:
    assert select_hits([], ARTICLES, SearchOptions()) == []


def test_what_else_lifts_the_dominant_cap_too() -> None:
    # "What else…?" sets per_article to k; a dominant article must not be held to the smaller dominant cap
    opts = SearchOptions(k=5, per_article=5, dominant_margin=0.3, dominant_cap=3)
    hits = _hits([(0, 1.0), (1, 0.95), (2, 0.9), (3, 0.85), (4, 0.8), (5, 0.6)])
    assert [h.pos for h in select_hits(hits, ARTICLES, opts)] == [0, 1, 2, 3, 4]


def test_an_article_in_the_other_language_may_show_more_passages() -> None:
    opts = SearchOptions(k=5, per_article=2, per_article_crosslingual=3, dominant_margin=1.0)
    hits = _hits([(0, 1.0), (1, 0.95), (2, 0.9), (3, 0.88), (5, 0.85), (6, 0.8), (7, 0.75), (8, 0.7)])
    # article 0 is in the question's language: two passages; article 1 is not: three
    assert [h.pos for h in select_hits(hits, ARTICLES, opts, crosslingual={1})] == [0, 1, 5, 6, 7]
    assert [h.pos for h in select_hits(hits, ARTICLES, opts, crosslingual={0})] == [0, 1, 2, 5, 6]
    # the cross-language allowance never lowers the plain cap ("What else…?" sets per_article to k)
    wide = SearchOptions(k=5, per_article=5, per_article_crosslingual=3, dominant_margin=1.0)
    assert [h.pos for h in select_hits(hits, ARTICLES, wide, crosslingual={0})] == [0, 1, 2, 3, 5]


def test_the_default_lets_a_dominant_article_fill_every_slot() -> None:
    hits = _hits([(0, 1.0), (1, 0.95), (2, 0.9), (3, 0.85), (4, 0.8), (5, 0.6)])
    assert [h.pos for h in select_hits(hits, ARTICLES, SearchOptions(k=5))] == [0, 1, 2, 3, 4]


def test_the_article_lead_reads_the_runner_up_before_selection() -> None:
    from bot.core.selection import article_lead

    hits = _hits([(0, 1.0), (1, 0.95), (2, 0.9), (3, 0.85), (4, 0.8), (5, 0.6)])
    chosen = select_hits(hits, ARTICLES, SearchOptions(k=5))
    assert article_lead(chosen, ARTICLES) == 1.0  # the runner-up is not in the final list
    assert abs(article_lead(hits, ARTICLES) - 0.4) < 1e-9
    assert article_lead([], ARTICLES) == 0.0

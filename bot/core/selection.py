"""Which hits make the final list: at most a few passages per article, more for a dominant one."""
from __future__ import annotations

from collections.abc import Callable, Collection

import numpy as np

from bot.core.options import Hit, SearchOptions
from index.snapshot import Snapshot


def cap_per_article(hits: list[Hit], articles: np.ndarray, per_article: int, k: int,
                    crosslingual: Collection[int] = (), per_article_crosslingual: int = 0) -> list[Hit]:
    """Keep at most `per_article` passages of any one article (of a `crosslingual` one, at most
    max(`per_article`, `per_article_crosslingual`)), up to `k` hits."""
    return _fill(hits, articles, k, lambda a: _plain_cap(a, per_article, crosslingual, per_article_crosslingual))


def select_hits(hits: list[Hit], articles: np.ndarray, opts: SearchOptions,
                crosslingual: Collection[int] = ()) -> list[Hit]:
    """The final k: at most `per_article` passages of an article (of a `crosslingual` one, in another
    language than the question, at most max(`per_article`, `per_article_crosslingual`)), except that an
    article scoring clearly above every other (by `dominant_margin`) may fill up to `dominant_cap` slots."""
    if not hits:
        return []
    firsts: list[float] = []
    seen_art: set[int] = set()
    for h in hits:
        a = int(articles[h.pos])
        if a not in seen_art:
            seen_art.add(a)
            firsts.append(h.score)
            if len(firsts) == 2:
                break
    dominant = len(firsts) == 1 or (firsts[1] <= firsts[0] * (1 - opts.dominant_margin))
    top_article = int(articles[hits[0].pos])

    def cap(a: int) -> int:
        plain = _plain_cap(a, opts.per_article, crosslingual, opts.per_article_crosslingual)
        # the dominant article's allowance never falls below the plain cap ("What else…?" sets it to k)
        return max(opts.dominant_cap, plain) if dominant and a == top_article else plain

    return _fill(hits, articles, opts.k, cap)


def _plain_cap(a: int, per_article: int, crosslingual: Collection[int], per_article_crosslingual: int) -> int:
    return max(per_article, per_article_crosslingual) if a in crosslingual else per_article


def _fill(hits: list[Hit], articles: np.ndarray, k: int, cap: Callable[[int], int]) -> list[Hit]:
    """Hits in order, at most `cap(article)` of each article, up to `k`."""
    out: list[Hit] = []
    seen: dict[int, int] = {}
    for h in hits:
        a = int(articles[h.pos])
        if seen.get(a, 0) >= cap(a):
            continue
        seen[a] = seen.get(a, 0) + 1
        out.append(h)
        if len(out) >= k:
            break
    return out


def article_lead(hits: list[Hit], articles: np.ndarray) -> float:
    """How far the best article's score leads the next article's (0 = a tie, 1 = no other article),
    read before selection, so an article allowed to fill every slot does not hide its runner-up."""
    if not hits or hits[0].score <= 0:
        return 0.0
    top = int(articles[hits[0].pos])
    other = next((h.score for h in hits if int(articles[h.pos]) != top), 0.0)
    return float(1.0 - other / hits[0].score)


def other_language_articles(hits: list[Hit], snap: Snapshot, english: bool) -> set[int]:
    """The articles among `hits` whose language is not the question's (their paragraphs' order is
    weaker across languages, see SearchOptions.per_article_crosslingual)."""
    lang = "en" if english else "fa"
    out: set[int] = set()
    seen: set[int] = set()
    for h in hits:
        a = int(snap.article_idx[h.pos])
        if a not in seen:
            seen.add(a)
            if snap.passage(h.pos).lang != lang:
                out.add(a)
    return out

"""Which hits make the final list: at most a few passages per article, more for a dominant one."""
from __future__ import annotations

from collections.abc import Collection

import numpy as np

from bot.core.options import Hit, SearchOptions


def cap_per_article(hits: list[Hit], articles: np.ndarray, per_article: int, k: int,
                    crosslingual: Collection[int] = (), per_article_crosslingual: int = 0) -> list[Hit]:
    """Keep at most `per_article` passages of any one article (of a `crosslingual` one, at most
    max(`per_article`, `per_article_crosslingual`)), up to `k` hits."""
    out: list[Hit] = []
    seen: dict[int, int] = {}
    for h in hits:
        a = int(articles[h.pos])
        if seen.get(a, 0) >= (max(per_article, per_article_crosslingual) if a in crosslingual else per_article):
            continue
        seen[a] = seen.get(a, 0) + 1
        out.append(h)
        if len(out) >= k:
            break
    return out


def select_hits(hits: list[Hit], articles: np.ndarray, opts: SearchOptions,
                crosslingual: Collection[int] = ()) -> list[Hit]:
    """The final k: at most `per_article` passages of an article (`per_article_crosslingual` for the
    `crosslingual` articles, those in another language than the question), except that an article
    scoring clearly above every other (by `dominant_margin`) may fill up to `dominant_cap` slots."""
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
    top_article = int(articles[hits[0].pos]) if hits else -1
    out: list[Hit] = []
    seen: dict[int, int] = {}
    for h in hits:
        a = int(articles[h.pos])
        # the dominant article's allowance never falls below the plain cap ("What else…?" sets it to k)
        plain = max(opts.per_article, opts.per_article_crosslingual) if a in crosslingual else opts.per_article
        cap = max(opts.dominant_cap, plain) if dominant and a == top_article else plain
        if seen.get(a, 0) >= cap:
            continue
        seen[a] = seen.get(a, 0) + 1
        out.append(h)
        if len(out) >= opts.k:
            break
    return out

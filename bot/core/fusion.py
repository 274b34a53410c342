"""Fusion of the dense and keyword candidate lists, and the article-first order of paragraphs."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from bot.core.options import Hit, SearchOptions

Ranked = list[tuple[int, float]]  # (position, score), best first
RRF_K = 60


def fuse(dense: Ranked, lexical: Ranked, opts: SearchOptions, extra: dict[int, float] | None = None,
          ages: np.ndarray | None = None) -> tuple[list[Hit], tuple[float, float, float]]:
    """The dense and keyword candidates in one list: weighted min-max fusion (or RRF), with each hit's
    dense and keyword scores and ranks kept; returns the hits best first and the normalization used."""
    hits: dict[int, Hit] = {}
    for rank, (p, s) in enumerate(dense):
        hits[p] = Hit(p, 0.0, dense=s, dense_rank=rank)
    for rank, (p, s) in enumerate(lexical):
        h = hits.setdefault(p, Hit(p, 0.0))
        h.lexical, h.lexical_rank = s, rank
    extra = extra or {}
    norm = (0.0, 1.0, 1.0)
    for p, s in extra.items():
        hits[p].dense = s
    if opts.fusion == "weighted":
        scored = [s for _, s in dense] + list(extra.values())
        dmax = max(scored, default=1.0)
        dmin = min((s for _, s in dense), default=0.0)
        lmax = max((s for _, s in lexical), default=1.0) or 1.0
        norm = (dmin, dmax, lmax)
        for h in hits.values():
            has = h.dense_rank is not None or h.pos in extra
            d = max(0.0, (h.dense - dmin) / (dmax - dmin)) if has and dmax > dmin else 0.0
            h.score = opts.dense_weight * d + opts.lexical_weight * h.lexical / lmax
    else:
        for h in hits.values():
            h.score = (opts.dense_weight / (RRF_K + h.dense_rank) if h.dense_rank is not None else 0) \
                + (opts.lexical_weight / (RRF_K + h.lexical_rank) if h.lexical_rank is not None else 0)
    if opts.recency and ages is not None:
        for h in hits.values():
            age = float(ages[h.pos])  # a Python float, so scores stay JSON-serializable
            if not math.isnan(age):
                # mild: at most +3 %, halving every 2 years, so it only breaks near-ties
                h.score *= 1.0 + 0.03 * 2.0 ** (-max(age, 0.0) / 2.0)
    return sorted(hits.values(), key=lambda h: -h.score), norm


def article_first(para: dict[int, Hit], score: dict[int, float], art_score: dict[int, float], top: float,
                  hits: list[Hit], aw: float, arts: np.ndarray) -> list[Hit]:
    """The paragraphs ranked by their article's score first (share `aw`) and their own `score` second,
    then the other candidates below them."""
    # each article's best paragraph gets the whole paragraph share, so the article order is kept
    # for every article's first passage and only weaker paragraphs of one article fall behind another's best
    pmax: dict[int, float] = {}
    for p, v in score.items():
        a = int(arts[p])
        pmax[a] = max(pmax.get(a, 0.0), v)
    ranked = [replace(h, score=aw * art_score[int(arts[p])] / top + (1 - aw) * score[p] / (pmax[int(arts[p])] or 1.0))
              for p, h in para.items()]
    floor = min((h.score for h in ranked), default=0.0)
    rest = [Hit(h.pos, floor * h.score / (hits[0].score or 1.0) - 1e-6, h.dense, h.lexical, h.dense_rank,
                h.lexical_rank) for h in hits if h.pos not in para]
    return sorted(ranked, key=lambda h: -h.score) + rest

"""The lexical (BM25) index over normalized passage text, grown incrementally and persisted beside Chroma.

Postings are kept in a few immutable segments (term-major arrays) that new passages are appended to
as a new small segment; similar-sized segments are merged, so a segment count stays logarithmic.
Document frequencies and lengths of live passages are kept exactly, and idf and length norms are
computed at query time, so scores equal a fresh bm25s build (k1=1.2, b=0.75, Lucene idf) over the
live passages, whatever sequence of additions and deletions produced them.
"""
from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .transliteration import likeness, skeleton_en, skeleton_fa

K1, B = 1.2, 0.75
EMPTY = "\u2400"  # the one token of a passage without keywords (as the bm25s build had)


@dataclass(frozen=True)
class Postings:
    """For each term id in `terms` (sorted), the passages docs[ptr[i]:ptr[i+1]] and their counts."""

    terms: np.ndarray  # int32, sorted, unique
    ptr: np.ndarray  # int64, len(terms) + 1
    docs: np.ndarray  # int32 passage positions
    tfs: np.ndarray  # int32 term counts

    @property
    def size(self) -> int:
        return len(self.docs)

    @classmethod
    def from_triples(cls, tids: np.ndarray, docs: np.ndarray, tfs: np.ndarray) -> Postings:
        """Build from (term, passage, count) triples in any order."""
        order = np.lexsort((docs, tids))
        tids, docs, tfs = tids[order], docs[order], tfs[order]
        terms, starts = np.unique(tids, return_index=True)
        ptr = np.append(starts, len(tids)).astype(np.int64)
        return cls(terms.astype(np.int32), ptr, docs.astype(np.int32), tfs.astype(np.int32))

    def triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(term, passage, count) arrays."""
        return np.repeat(self.terms, np.diff(self.ptr)), self.docs, self.tfs

    def lookup(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        """Passages containing term `tid` and the counts."""
        i = int(np.searchsorted(self.terms, tid))
        if i >= len(self.terms) or self.terms[i] != tid:
            return self.docs[:0], self.tfs[:0]
        return self.docs[self.ptr[i]:self.ptr[i + 1]], self.tfs[self.ptr[i]:self.ptr[i + 1]]

    @classmethod
    def merge(cls, parts: list[Postings]) -> Postings:
        """One segment holding all postings of `parts`."""
        t = [p.triples() for p in parts]
        return cls.from_triples(np.concatenate([x[0] for x in t]), np.concatenate([x[1] for x in t]),
                                np.concatenate([x[2] for x in t]))


def add_tiered(segments: list[Postings], new: Postings) -> list[Postings]:
    """Append `new`, merging the newest segments while the older one is not much larger
    (a binary-counter policy: O(log n) segments, each posting re-merged O(log n) times)."""
    out = list(segments)
    if new.size:
        out.append(new)
    while len(out) >= 2 and out[-2].size <= 2 * out[-1].size:
        out[-2:] = [Postings.merge(out[-2:])]
    return out


class Vocabulary:
    """Append-only term ↔ id table shared by every snapshot of one store (ids are never reused)."""

    def __init__(self, terms: list[str] | None = None):
        self.terms: list[str] = []
        self.ids: dict[str, int] = {}
        self.skeletons: tuple[dict[str, list[int]], dict[str, list[int]]] = ({}, {})
        self._lock = threading.Lock()
        for t in terms or []:
            self.add(t)

    def __len__(self) -> int:
        return len(self.terms)

    def add(self, term: str) -> int:
        """The id of `term`, assigning the next one when new."""
        tid = self.ids.get(term)
        if tid is not None:
            return tid
        with self._lock:
            tid = self.ids.get(term)
            if tid is None:
                tid = len(self.terms)
                self.terms.append(term)
                self.ids[term] = tid
                fa, en = self.skeletons
                sk = skeleton_en(term) if term.isascii() else skeleton_fa(term)
                if sk:
                    (en if term.isascii() else fa).setdefault(sk, []).append(tid)
            return tid


class LexicalIndex:
    """BM25 over one snapshot's live passages; supports weighted query terms for feedback expansion."""

    def __init__(self, vocab: Vocabulary, segments: list[Postings], df: np.ndarray, doclen: np.ndarray,
                 alive: np.ndarray, n_alive: int, total_len: int):
        self.vocabulary = vocab
        self.segments = segments
        self._df = df
        self.doclen = doclen
        self.alive = alive
        self.n_alive = n_alive
        self.total_len = total_len

    @property
    def n_docs(self) -> int:
        """Number of positions (live and masked) the score arrays cover."""
        return len(self.alive)

    @property
    def vocab(self) -> dict[str, int]:
        """Term → id (shared, append-only; terms newer than this snapshot have df 0 here)."""
        return self.vocabulary.ids

    def df(self, token: str) -> int:
        """In how many live passages `token` occurs."""
        tid = self.vocabulary.ids.get(token)
        if tid is None or tid >= len(self._df):
            return 0
        return int(self._df[tid])

    def df_within(self, token: str, mask: np.ndarray) -> int:
        """In how many live passages within `mask` (one flag per position) `token` occurs."""
        tid = self.vocabulary.ids.get(token)
        if tid is None:
            return 0
        n = 0
        for seg in self.segments:
            docs, _ = seg.lookup(tid)
            if len(docs):
                n += int((mask[docs] & self.alive[docs]).sum())
        return n

    def scores(self, weights: dict[str, float]) -> np.ndarray:
        """BM25 score of every passage for weighted query tokens (a plain query has weight 1 each)."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        if not self.n_alive:
            return out
        n, avgdl = self.n_alive, self.total_len / self.n_alive
        touched = False
        for tok, w in weights.items():
            d = self.df(tok)
            if d <= 0:
                continue
            tid = self.vocabulary.ids[tok]
            idf = math.log(1 + (n - d + 0.5) / (d + 0.5))
            for seg in self.segments:
                docs, tfs = seg.lookup(tid)
                if len(docs):
                    tf = tfs.astype(np.float32)
                    norm = K1 * (1 - B + B * self.doclen[docs].astype(np.float32) / avgdl)
                    out[docs] += np.float32(w * idf) * (tf / (tf + norm))
                    touched = True
        if touched:
            out[~self.alive] = 0.0
        return out

    def score_tokens(self, weights: dict[str, float], tf: Counter) -> float:
        """BM25 score of a document that is not in the index (its token counts), as if it were one
        more passage: its own words count in their document frequency, so a word found nowhere else
        (a title's name) scores highest instead of not at all."""
        if not tf:
            return 0.0
        n, length = self.n_alive + 1, sum(tf.values())
        norm = K1 * (1 - B + B * length / ((self.total_len + length) / n))
        out = 0.0
        for tok in tf.keys() & weights.keys():
            d = self.df(tok) + 1
            out += weights[tok] * math.log(1 + (n - d + 0.5) / (d + 0.5)) * tf[tok] / (tf[tok] + norm)
        return out

    def transliterations(self, tokens: list[str], limit: int = 3) -> dict[str, list[str]]:
        """For each query word, indexed words of the other script with the same consonant skeleton
        (Tartus → طرطوس), the most alike in full spelling first."""
        if not self.n_alive:
            return {}
        fa, en = self.vocabulary.skeletons
        terms = self.vocabulary.terms
        out: dict[str, list[str]] = {}
        for tok in tokens:
            if tok.isascii():
                cands = list(fa.get(skeleton_en(tok), [])) if tok.isalpha() else []
            else:
                cands = list(en.get(skeleton_fa(tok), []))
            live = {terms[c]: int(self._df[c]) for c in cands if c < len(self._df) and self._df[c] > 0}
            if live:
                out[tok] = rank_spellings(tok, list(live), live.__getitem__, limit)
        return out


SPELLING_SLACK = 0.04  # candidates this close to the most alike spelling are kept too
MIN_LIKENESS = 0.75


def rank_spellings(token: str, cands: list[str], df: Callable[[str], int], limit: int) -> list[str]:
    """Same-skeleton candidates ordered by how alike their full spelling is to `token` (then by
    frequency); only those nearly as alike as the best are kept, so Delvari finds دلواری, not دلار."""
    def like(c: str) -> float:
        return likeness(token, c) if token.isascii() else likeness(c, token)

    scored = sorted(((like(c), df(c) or 0, c) for c in cands), key=lambda x: (-x[0], -x[1], x[2]))
    best = scored[0][0]
    return [c for sim, _, c in scored if sim >= max(MIN_LIKENESS, best - SPELLING_SLACK)][:limit]

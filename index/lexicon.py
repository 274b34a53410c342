"""An embedded vocabulary of the index, for cross-lingual query expansion.

The embedder places a question and single words of either language in one space, so the words
of the index nearest to an English question's vector ("Which airport…" → فرودگاه, روسیه) are a
rough translation that keyword search can use. Only mid-frequency words take part (a word in
almost every passage says nothing). Vectors are kept per word in append-only blocks: an update
embeds only words it makes eligible for the first time; which words take part is decided from
the snapshot's word frequencies at query time.
"""
from __future__ import annotations

import numpy as np

from .normalizer import STOPWORDS, words

MIN_DF = 2
MAX_DF_SHARE = 0.02


def lexicon_words(text: str | list[str]) -> set[str]:
    """The words of `text` (or of its `words`) that may join the lexicon: letters only, longer than 2,
    not stopwords."""
    ws = words(text) if isinstance(text, str) else text
    return {w for w in ws if len(w) > 2 and w.isalpha() and w not in STOPWORDS}


def df_bounds(n_docs: int) -> tuple[int, int]:
    """(min, max) passage frequency of a lexicon word in an index of `n_docs` passages."""
    cap = max(MIN_DF, int(MAX_DF_SHARE * n_docs))
    return (MIN_DF if n_docs > 500 else 1), cap  # a small index keeps its rare words


class Lexicon:
    """Word vectors (query role) of one snapshot, in blocks of (term ids, vectors)."""

    def __init__(self, terms: list[str], blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]], wdf: np.ndarray,
                 n_docs: int):
        self._terms = terms  # the shared vocabulary's id → term list
        self.blocks = blocks  # (term ids, vectors, is-Latin mask)
        self.wdf = wdf
        self.n_docs = n_docs

    def _selected(self, i: int) -> np.ndarray:
        lo, hi = df_bounds(self.n_docs)
        tids = self.blocks[i][0]
        f = self.wdf[tids]
        return (f >= lo) & (f <= hi)

    @property
    def words(self) -> list[str]:
        """The words taking part now."""
        return [self._terms[t] for i, (tids, _, _) in enumerate(self.blocks) for t in tids[self._selected(i)]]

    def nearest(self, vector: np.ndarray, script: str, k: int = 10) -> list[tuple[str, float]]:
        """The `k` words of `script` ('fa' or 'en') closest to `vector`, with their similarity."""
        return self.nearest_many(np.asarray(vector, dtype=np.float32)[None, :], script, k)[0]

    def nearest_many(self, vectors: np.ndarray, script: str, k: int = 10) -> list[list[tuple[str, float]]]:
        """`nearest` for each row of `vectors`, in one product per block."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        sims, tids = [], []
        for i, (bt, bv, latin) in enumerate(self.blocks):
            sel = self._selected(i) & (latin if script == "en" else ~latin)
            if sel.any():
                # the product over the whole block, then the selection: indexing the (memory-mapped)
                # vectors first would copy most of them for every call
                sims.append((bv @ vectors.T)[sel])
                tids.append(bt[sel])
        if not sims or k <= 0:
            return [[] for _ in range(len(vectors))]
        s_all, t = np.concatenate(sims), np.concatenate(tids)
        k = min(k, len(t))
        out = []
        for s in s_all.T:
            top = np.argpartition(-s, k - 1)[:k]
            top = top[np.argsort(-s[top], kind="stable")]
            out.append([(self._terms[t[i]], float(s[i])) for i in top])
        return out


def block(terms: list[str], tids: np.ndarray, vecs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A lexicon block: term ids, their vectors, and which are Latin-script words."""
    return tids, vecs, np.array([terms[t].isascii() for t in tids], dtype=bool)


def merge_blocks(blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[tuple]:
    """Merge the newest blocks while the older is not much larger: O(log n) blocks, few products."""
    out = [b for b in blocks if len(b[0])]
    while len(out) >= 2 and len(out[-2][0]) <= 2 * len(out[-1][0]):
        (ta, va, la), (tb, vb, lb) = out[-2:]
        out[-2:] = [(np.concatenate([ta, tb]), np.vstack([va, vb]), np.concatenate([la, lb]))]
    return out

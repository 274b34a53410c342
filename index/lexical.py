"""The lexical (BM25) index over normalized passage text, persisted beside Chroma."""
from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import scipy.sparse as sp

from .normalizer import tokenize
from .transliteration import likeness, skeleton_en, skeleton_fa


class LexicalIndex:
    """BM25 (bm25s) over `tokenize(text)`; supports weighted query terms for feedback expansion."""

    def __init__(self, model: bm25s.BM25 | None, n_docs: int):
        self.model = model
        self.n_docs = n_docs
        self._matrix: sp.csc_matrix | None = None
        self.vocab: dict[str, int] = model.vocab_dict if model is not None else {}
        self._skeletons: tuple[dict, dict] | None = None

    @classmethod
    def build(cls, texts: list[str]) -> "LexicalIndex":
        """Index `texts` (one per passage, in catalog order)."""
        if not texts:
            return cls(None, 0)
        model = bm25s.BM25(k1=1.2, b=0.75)
        model.index([tokenize(t) or ["\u2400"] for t in texts], show_progress=False)
        return cls(model, len(texts))

    def _csc(self) -> sp.csc_matrix:
        if self._matrix is None:
            s = self.model.scores
            self._matrix = sp.csc_matrix((s["data"], s["indices"], s["indptr"]),
                                         shape=(s["num_docs"], len(s["indptr"]) - 1))
        return self._matrix

    def scores(self, weights: dict[str, float]) -> np.ndarray:
        """BM25 score of every passage for weighted query tokens (a plain query has weight 1 each)."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        if self.model is None:
            return out
        cols = [(self.vocab[t], w) for t, w in weights.items() if t in self.vocab]
        if not cols:
            return out
        m = self._csc()[:, [c for c, _ in cols]]
        return np.asarray(m @ np.array([w for _, w in cols], dtype=np.float32)).ravel()

    def df(self, token: str) -> int:
        """In how many passages `token` occurs."""
        col = self.vocab.get(token)
        if col is None:
            return 0
        indptr = self.model.scores["indptr"]
        return int(indptr[col + 1] - indptr[col])

    def _skeleton_maps(self) -> tuple[dict, dict]:
        if self._skeletons is None:
            fa: dict[str, list[str]] = {}
            en: dict[str, list[str]] = {}
            for tok in self.vocab:
                if tok.isascii():
                    sk = skeleton_en(tok)
                    if sk:
                        en.setdefault(sk, []).append(tok)
                else:
                    sk = skeleton_fa(tok)
                    if sk:
                        fa.setdefault(sk, []).append(tok)
            self._skeletons = (fa, en)
        return self._skeletons

    def transliterations(self, tokens: list[str], limit: int = 3) -> dict[str, list[str]]:
        """For each query word, indexed words of the other script with the same consonant skeleton
        (Tartus → طرطوس), the most alike in full spelling first."""
        if self.model is None:
            return {}
        fa, en = self._skeleton_maps()
        out: dict[str, list[str]] = {}
        for tok in tokens:
            if tok.isascii():
                cands = fa.get(skeleton_en(tok), []) if tok.isalpha() else []
            else:
                cands = en.get(skeleton_fa(tok), [])
            if cands:
                out[tok] = rank_spellings(tok, cands, self.df, limit)
        return out

    def save(self, directory: Path) -> None:
        """Write the index files into `directory` (the store swaps whole directories atomically)."""
        directory.mkdir(parents=True, exist_ok=True)
        if self.model is not None:
            self.model.save(str(directory), show_progress=False)
        (directory / "bm25.json").write_text(json.dumps({"n_docs": self.n_docs}))

    @classmethod
    def load(cls, directory: Path) -> "LexicalIndex":
        """Load an index saved by `save`; raises OSError/ValueError when missing or corrupt."""
        meta = json.loads((directory / "bm25.json").read_text())
        n_docs = int(meta["n_docs"])
        if n_docs == 0:
            return cls(None, 0)
        model = bm25s.BM25.load(str(directory), show_progress=False)
        if model.scores["num_docs"] != n_docs:
            raise ValueError("lexical index is inconsistent")
        return cls(model, n_docs)


SPELLING_SLACK = 0.04  # candidates this close to the most alike spelling are kept too
MIN_LIKENESS = 0.75


def rank_spellings(token: str, cands: list[str], df, limit: int) -> list[str]:
    """Same-skeleton candidates ordered by how alike their full spelling is to `token` (then by
    frequency); only those nearly as alike as the best are kept, so Delvari finds دلواری, not دلار."""
    def like(c: str) -> float:
        return likeness(token, c) if token.isascii() else likeness(c, token)

    scored = sorted(((like(c), df(c), c) for c in cands), key=lambda x: (-x[0], -x[1]))
    best = scored[0][0]
    return [c for sim, _, c in scored if sim >= max(MIN_LIKENESS, best - SPELLING_SLACK)][:limit]

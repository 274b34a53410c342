"""An embedded vocabulary of the index, for cross-lingual query expansion.

The embedder places a question and single words of either language in one space, so the words
of the index nearest to an English question's vector ("Which airport…" → فرودگاه, روسیه) are a
rough translation that keyword search can use. Only mid-frequency words are embedded (a word in
almost every passage says nothing); vectors are cached by word, so a re-ingest embeds only new words.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from .normalizer import STOPWORDS, words

MIN_DF = 2
MAX_DF_SHARE = 0.02


def select_words(texts: list[str]) -> list[str]:
    """The words worth embedding: letters only, longer than 2, not stopwords, mid-frequency."""
    df: Counter = Counter()
    for t in texts:
        df.update({w for w in words(t) if len(w) > 2 and w.isalpha() and w not in STOPWORDS})
    cap = max(MIN_DF, int(MAX_DF_SHARE * len(texts)))
    min_df = MIN_DF if len(texts) > 500 else 1  # a small index keeps its rare words
    return sorted(w for w, c in df.items() if min_df <= c <= cap)


class Lexicon:
    """Words of one index with their (query-role) vectors, split by script."""

    def __init__(self, words_: list[str], vectors: np.ndarray):
        self.words = words_
        self.vectors = vectors.astype(np.float32) if len(words_) else np.zeros((0, 1), np.float32)
        ascii_mask = np.array([w.isascii() for w in words_], dtype=bool)
        self._idx = {"en": np.flatnonzero(ascii_mask), "fa": np.flatnonzero(~ascii_mask)}

    @classmethod
    def build(cls, texts: list[str], encode, cache: "Lexicon | None" = None, progress=None) -> "Lexicon":
        """Embed the selected words of `texts` with `encode(list) -> array`, reusing `cache`."""
        chosen = select_words(texts)
        known = {w: i for i, w in enumerate(cache.words)} if cache is not None else {}
        missing = [w for w in chosen if w not in known]
        if progress and missing:
            progress.start(len(missing), "vocabulary")
        new_vecs = {}
        for i in range(0, len(missing), 256):
            batch = missing[i:i + 256]
            for w, v in zip(batch, encode(batch)):
                new_vecs[w] = v
            if progress:
                progress.advance(len(batch))
        if not chosen:
            return cls([], np.zeros((0, 1), np.float32))
        vecs = np.vstack([cache.vectors[known[w]] if w in known else new_vecs[w] for w in chosen])
        return cls(chosen, vecs)

    def nearest(self, vector: np.ndarray, script: str, k: int = 10) -> list[tuple[str, float]]:
        """The `k` words of `script` ('fa' or 'en') closest to `vector`, with their similarity."""
        idx = self._idx.get(script)
        if idx is None or len(idx) == 0:
            return []
        sims = self.vectors[idx] @ np.asarray(vector, dtype=np.float32)
        k = min(k, len(idx))
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top])]
        return [(self.words[idx[i]], float(sims[i])) for i in top]

    def save(self, directory: Path) -> None:
        """Write words and vectors into `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "lexicon.json").write_text(json.dumps(self.words, ensure_ascii=False))
        np.save(directory / "lexicon.npy", self.vectors)

    @classmethod
    def load(cls, directory: Path) -> "Lexicon":
        """Read a lexicon written by `save`."""
        words_ = json.loads((directory / "lexicon.json").read_text())
        vectors = np.load(directory / "lexicon.npy")
        if len(words_) != len(vectors) and words_:
            raise ValueError("lexicon is inconsistent")
        return cls(words_, vectors)

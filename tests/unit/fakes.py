"""Deterministic fakes at true seams: an embedder of hashed words (no model, the same in every process)."""
from __future__ import annotations

import hashlib

import numpy as np

from index.embeddings import VectorEmbeddings
from index.normalizer import words

DIM = 64


def _slot(word: str) -> tuple[int, float]:
    """The dimension and sign a word adds to a vector (stable across runs: blake2b, not hash())."""
    h = int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")
    return h % DIM, 1.0 if (h >> 32) & 1 else -1.0


class HashEmbedder(VectorEmbeddings):
    """Unit vectors of hashed normalized words: texts sharing words are close, others near 0.

    `calls` counts the texts embedded, so a test can see what was (not) embedded."""

    name = "test:hashed-words-64"

    def __init__(self) -> None:
        self.calls = 0

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        v = np.zeros((len(texts), DIM), np.float32)
        for i, text in enumerate(texts):
            for w in words(text):
                d, sign = _slot(w)
                v[i, d] += sign
        v[np.abs(v).sum(axis=1) == 0, 0] = 1.0  # a text without words still gets a unit vector
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode_passages([text])[0]

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode_passages(texts) if texts else np.zeros((0, DIM), np.float32)

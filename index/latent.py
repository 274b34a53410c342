"""Passages' sparse latent terms kept on disk beside the index (SQLite), so an English question's first
ask does not wait for an encoder pass per passage it is checked against; any process may read and
write them at once, and a lost or broken file only costs the passes again."""
from __future__ import annotations

import hashlib
import logging
import os
import random
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # embeddings.py imports this module
    from .embeddings import VectorEmbeddings
    from .snapshot import Snapshot

log = logging.getLogger(__name__)

Terms = tuple[np.ndarray, np.ndarray]  # (int32 latent-term indices, float32 unit-length values)

# SQLite's default limit on the parameters of one statement is 999 on older builds
_CHUNK = 500


class LatentStore:
    """Content-addressed latent terms: the key is a hash of the embedder's name and the passage text, so
    an edited passage or another embedder never reads stale terms, and two processes computing the same
    passage write the same row. Every failure (read-only disk, corrupt file, lock held too long) is
    logged and answered as "not kept": the terms are computed again, a question never fails for it."""

    def __init__(self, path: Path, model: str):
        self.path = Path(path)
        self.model = model
        self._local = threading.local()  # one connection per thread (sqlite3 objects are per-thread)
        self._broken = False

    def _conn(self) -> sqlite3.Connection | None:
        if self._broken:
            return None
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
                # WAL: readers never wait for a writer, and writers of several processes take turns
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("CREATE TABLE IF NOT EXISTS terms (key BLOB PRIMARY KEY, idx BLOB NOT NULL,"
                             " val BLOB NOT NULL)")
            except (sqlite3.Error, OSError):
                log.warning("latent terms are not kept on disk (%s)", self.path, exc_info=True)
                self._broken = True
                return None
            self._local.conn = conn
        return conn

    def key(self, text: str) -> bytes:
        """The row key of `text`'s terms under this embedder."""
        return hashlib.blake2b(f"{self.model}\0{text}".encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def get_many(self, texts: Iterable[str]) -> dict[str, Terms]:
        """The kept terms of those of `texts` that have them."""
        by_key = {self.key(t): t for t in texts}
        conn = self._conn()
        out: dict[str, Terms] = {}
        if conn is None or not by_key:
            return out
        keys = list(by_key)
        try:
            for i in range(0, len(keys), _CHUNK):
                part = keys[i:i + _CHUNK]
                rows = conn.execute(f"SELECT key, idx, val FROM terms WHERE key IN ({','.join('?' * len(part))})",
                                    part).fetchall()
                for key, idx, val in rows:
                    if len(idx) * 2 == len(val) and len(val) % 4 == 0:  # a foreign row is simply not kept
                        out[by_key[key]] = (np.frombuffer(idx, dtype=np.uint16).astype(np.int32),
                                            np.frombuffer(val, dtype=np.float32))
        except sqlite3.Error:
            log.warning("could not read latent terms from %s", self.path, exc_info=True)
        return out

    def missing(self, texts: Iterable[str]) -> list[str]:
        """Those of `texts` (each once, in order) whose terms are not kept."""
        unique = list(dict.fromkeys(texts))
        have = self.get_many(unique)
        return [t for t in unique if t not in have]

    def put_many(self, items: Iterable[tuple[str, Terms]]) -> int:
        """Keep these terms (one transaction); returns how many rows were written."""
        # 16,384 latent terms: an index fits in 16 bits (1.5 KB a passage instead of 2)
        rows = [(self.key(t), np.asarray(i, dtype=np.uint16).tobytes(), np.asarray(v, dtype=np.float32).tobytes())
                for t, (i, v) in items if len(i) == len(v) and (len(i) == 0 or int(np.max(i)) < 65536)]
        conn = self._conn()
        if conn is None or not rows:
            return 0
        try:
            with conn:  # one transaction: a batch is kept whole or not at all
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT OR REPLACE INTO terms (key, idx, val) VALUES (?, ?, ?)", rows)
        except sqlite3.Error:
            log.warning("could not keep latent terms in %s", self.path, exc_info=True)
            return 0
        return len(rows)

    def prune(self, live: Iterable[str]) -> int:
        """Drop the rows of every text not in `live` (removed or edited passages); returns how many."""
        conn = self._conn()
        if conn is None:
            return 0
        keep = {self.key(t) for t in live}
        try:
            dead = [(k,) for (k,) in conn.execute("SELECT key FROM terms") if k not in keep]
            if dead:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany("DELETE FROM terms WHERE key = ?", dead)
        except sqlite3.Error:
            log.warning("could not prune latent terms in %s", self.path, exc_info=True)
            return 0
        return len(dead)

    def count(self) -> int:
        """How many texts' terms are kept."""
        conn = self._conn()
        if conn is None:
            return 0
        try:
            return int(conn.execute("SELECT COUNT(*) FROM terms").fetchone()[0])
        except sqlite3.Error:
            return 0


def warm_latents(snap: Snapshot, embedder: VectorEmbeddings, keep: LatentStore, *,
                 stop: threading.Event | None = None, wait_idle: Callable[[], None] | None = None,
                 progress: Callable[[int, int], None] | None = None, batch: int = 8,
                 min_dead: int = 100) -> int:
    """Compute and keep the latent terms of every live passage of `snap` not kept yet, a few at a time
    (`wait_idle` is called before each few: a server lets its questions go first); when the pass
    completes, rows of passages no longer live are dropped (once more than `min_dead` and a tenth of the
    live ones: a process still on an older snapshot then prunes little). Several processes may warm one index at
    once: each takes the passages in its own order and skips those another has kept meanwhile.
    Returns how many passages this call computed."""
    live = snap.texts(np.flatnonzero(snap.alive))
    todo = keep.missing(live)
    random.Random(os.getpid()).shuffle(todo)  # two warmers start at different ends of the work
    done = 0
    for i in range(0, len(todo), batch):
        if stop is not None and stop.is_set():
            return done
        if wait_idle is not None:
            wait_idle()
        part = keep.missing(todo[i:i + batch])  # another process may have kept these meanwhile
        terms = embedder.latent_terms(part, remember=False) if part else []
        if terms is None:
            return done  # no sparse head: nothing to keep
        keep.put_many(zip(part, terms, strict=True))
        done += len(part)
        if progress is not None:
            progress(min(i + batch, len(todo)), len(todo))
    if keep.count() - len(set(live)) > max(min_dead, len(live) // 10):
        keep.prune(live)
    return done

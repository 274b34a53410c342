"""Passages' sparse latent terms kept on disk beside the index (SQLite), so an English question's first
ask does not wait for an encoder pass per passage it is checked against; the processes of one host may
read and write them at once, and a lost or broken file only costs the passes again."""
from __future__ import annotations

import hashlib
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import LatentsNotKept

if TYPE_CHECKING:  # embeddings.py imports this module
    from .embeddings import VectorEmbeddings
    from .snapshot import Snapshot

log = logging.getLogger(__name__)

Terms = tuple[np.ndarray, np.ndarray]  # (int32 latent-term indices, float32 unit-length values)

_CHUNK = 500  # keys per statement: SQLite's parameter limit is 999 on older builds
_RETRY_BROKEN = 60.0  # seconds before a store that failed to open is tried again
_LOG_EVERY = 60.0  # a failing disk is logged once a minute, not once per passage


class LatentStore:
    """Content-addressed latent terms: the key is a hash of the embedder's latent-term fingerprint and
    the passage text, so an edited passage, another embedder or another version of its sparse head
    never reads stale terms, and two processes computing the same passage write the same row. A
    failure (read-only disk, corrupt file, a write lock held too long) is logged and answered as "not
    kept"; `put_many` says how many rows it wrote, so a warmer can stop instead of computing in vain."""

    def __init__(self, path: Path, fingerprint: str):
        self.path = Path(path)
        self.fingerprint = fingerprint
        self._local = threading.local()  # one connection per thread (sqlite3 objects are per-thread)
        self._broken_until = 0.0
        self._logged = 0.0

    def _warn(self, what: str) -> None:
        now = time.monotonic()
        if now - self._logged >= _LOG_EVERY:
            self._logged = now
            log.warning("latent terms: %s (%s)", what, self.path, exc_info=True)

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=2.0, isolation_level=None, check_same_thread=True)
        try:
            # WAL: readers never wait for a writer, and writers of several processes take turns; it
            # needs every process on one host (shared memory), as the data dir already does
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA cache_size=-512")  # 512 KB per connection: rows are read once per question
            conn.execute("CREATE TABLE IF NOT EXISTS terms (key BLOB PRIMARY KEY, idx BLOB NOT NULL,"
                         " val BLOB NOT NULL)")
        except BaseException:
            conn.close()
            raise
        return conn

    def _conn(self) -> sqlite3.Connection | None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if time.monotonic() < self._broken_until:
            return None
        for attempt in range(5):
            try:
                conn = self._open()
                break
            except sqlite3.OperationalError as exc:
                # a fresh file opened by several processes at once: switching to WAL may meet a lock
                if ("locked" in str(exc) or "busy" in str(exc)) and attempt < 4:
                    time.sleep(0.05 * (attempt + 1))
                    continue
                self._warn("cannot open")
                break
            except sqlite3.DatabaseError as exc:
                # a corrupt file is only a cache: set it aside once and start an empty one
                if attempt == 0 and ("not a database" in str(exc) or "malformed" in str(exc)):
                    self._warn("set aside a broken file")
                    for suffix in ("", "-wal", "-shm"):
                        part = Path(f"{self.path}{suffix}")
                        try:
                            part.replace(part.with_name(part.name + ".broken"))
                        except OSError:
                            pass  # gone already (another process set it aside) or never there
                    continue
                self._warn("cannot open")
                break
            except OSError:
                self._warn("cannot open")
                break
        if conn is None:
            self._broken_until = time.monotonic() + _RETRY_BROKEN
            return None
        self._local.conn = conn
        return conn

    def key(self, text: str) -> bytes:
        """The row key of `text`'s terms under this fingerprint."""
        return hashlib.blake2b(f"{self.fingerprint}\0{text}".encode("utf-8", "surrogatepass"),
                               digest_size=16).digest()

    def _select(self, column: str, keys: list[bytes]) -> list[tuple]:
        conn = self._conn()
        if conn is None or not keys:
            return []
        out: list[tuple] = []
        try:
            for i in range(0, len(keys), _CHUNK):
                part = keys[i:i + _CHUNK]
                out += conn.execute(f"SELECT {column} FROM terms WHERE key IN ({','.join('?' * len(part))})",
                                    part).fetchall()
        except sqlite3.Error:
            self._warn("cannot read")
        return out

    def get_many(self, texts: Iterable[str]) -> dict[str, Terms]:
        """The kept terms of those of `texts` that have them."""
        by_key = {self.key(t): t for t in texts}
        out: dict[str, Terms] = {}
        for key, idx, val in self._select("key, idx, val", list(by_key)):
            # a row of another shape (another version, a hand edit) is simply not kept
            if isinstance(idx, bytes) and isinstance(val, bytes) and len(idx) * 2 == len(val) and len(val) % 4 == 0:
                out[by_key[key]] = (np.frombuffer(idx, dtype="<u2").astype(np.int32),
                                    np.frombuffer(val, dtype="<f4").astype(np.float32))
        return out

    def missing(self, texts: Iterable[str]) -> list[str]:
        """Those of `texts` (each once, in order) whose terms are not kept (reads the keys only)."""
        by_key = {self.key(t): t for t in texts}
        have = {k for (k,) in self._select("key", list(by_key))}
        return [t for k, t in by_key.items() if k not in have]

    def put_many(self, items: Iterable[tuple[str, Terms]], wait: float = 10.0) -> int:
        """Keep these terms (one transaction), waiting at most `wait` s for another writer; returns how
        many rows were written (0 when the disk or the lock would not have them)."""
        # 16,384 latent terms: an index fits in 16 bits (1.5 KB a passage instead of 2)
        rows = [(self.key(t), np.asarray(i, dtype="<u2").tobytes(), np.asarray(v, dtype="<f4").tobytes())
                for t, (i, v) in items if len(i) == len(v) and (len(i) == 0 or int(np.max(i)) < 65536)]
        conn = self._conn()
        if conn is None or not rows:
            return 0
        try:
            conn.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
            with conn:  # one transaction: a batch is kept whole or not at all
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT OR REPLACE INTO terms (key, idx, val) VALUES (?, ?, ?)", rows)
        except sqlite3.Error:
            self._warn("cannot write")
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
                conn.execute("PRAGMA busy_timeout=10000")
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany("DELETE FROM terms WHERE key = ?", dead)
        except sqlite3.Error:
            self._warn("cannot prune")
            return 0
        return len(dead)

    def count(self) -> int:
        """How many texts' terms are kept."""
        rows = []
        conn = self._conn()
        if conn is not None:
            try:
                rows = conn.execute("SELECT COUNT(*) FROM terms").fetchall()
            except sqlite3.Error:
                self._warn("cannot read")
        return int(rows[0][0]) if rows else 0


def warm_latents(snap: Snapshot, embedder: VectorEmbeddings, keep: LatentStore, *,
                 stop: threading.Event | None = None, wait_idle: Callable[[], None] | None = None,
                 progress: Callable[[int, int], None] | None = None, latest: Callable[[], Snapshot] | None = None,
                 batch: int = 8, min_dead: int = 100) -> int:
    """Compute and keep the latent terms of every live passage of `snap` not kept yet; `wait_idle` is
    called before each passage (a server lets its questions go first). When the pass completes, rows
    of passages no longer live in the `latest` snapshot are dropped, once more than `min_dead` and a
    tenth of the live ones. Several processes may warm one index at once: each takes the passages in
    its own random order and skips those another has kept meanwhile. Returns how many passages this
    call computed; raises LatentsNotKept when the store would not keep them (nothing is computed in vain)."""
    todo = keep.missing(snap.texts(np.flatnonzero(snap.alive)))
    random.Random().shuffle(todo)  # two warmers meet less often in the same passages
    done = 0
    for i in range(0, len(todo), batch):
        if stop is not None and stop.is_set():
            return done
        part = keep.missing(todo[i:i + batch])  # another process may have kept these meanwhile
        made = []
        for text in part:
            if wait_idle is not None:
                wait_idle()
            if stop is not None and stop.is_set():
                break
            terms = embedder.latent_terms([text], remember=False)
            if terms is None:
                return done  # no sparse head: nothing to keep
            made.append((text, terms[0]))
        if made and keep.put_many(made) < len(made):
            raise LatentsNotKept(str(keep.path))
        done += len(made)
        if progress is not None:
            progress(min(i + batch, len(todo)), len(todo))
    if stop is not None and stop.is_set():
        return done
    now = latest() if latest is not None else snap  # not the pass's first snapshot: it may be minutes old
    live = set(now.texts(np.flatnonzero(now.alive)))
    if keep.count() - len(live) > max(min_dead, len(live) // 10):
        keep.prune(live)
    return done

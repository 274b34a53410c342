"""The parts snapshots are made of: shared column buffers, text/metadata chunks and applied batches."""
from __future__ import annotations

import hashlib
import json
import mmap
import threading
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from .lexical import Postings


class Column:
    """An append-only buffer shared by successive snapshots, each viewing a prefix of it: appending
    writes past every existing view (copying only when the buffer is full or already extended by
    another snapshot), so a one-article update does not copy the whole index's columns."""

    def __init__(self, buf: np.ndarray, used: int):
        self.buf, self.used = buf, used
        self._lock = threading.Lock()

    @staticmethod
    def extend(col: Column | None, view: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, Column | None]:
        """`view` + `new` as a view of a shared buffer (and that buffer's Column)."""
        n, k = len(view), len(new)
        if not k:
            return view, col
        if col is not None:
            with col._lock:
                if col.used == n and n + k <= len(col.buf):
                    col.buf[n:n + k] = new
                    col.used = n + k
                    return col.buf[:n + k], col
        buf = np.empty(max(4096, 2 * (n + k)), dtype=new.dtype if not n else view.dtype)
        buf[:n] = view
        buf[n:n + k] = new
        return buf[:n + k], Column(buf, n + k)


GROWN = ("article_idx", "paragraph", "date_num", "nwords", "doclen", "day_ordinal")


def iso_ordinal(iso: str) -> int:
    """date.toordinal() of an ISO date, 0 when it is missing or malformed."""
    try:
        return date.fromisoformat(iso).toordinal()
    except ValueError:
        return 0


def id_hash(pid: str) -> int:
    """64-bit key of a passage id (positions are looked up by key, not by a dict of strings)."""
    return int.from_bytes(hashlib.blake2b(pid.encode(), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class Chunk:
    """Texts and metadata of the passages at positions start … start+n-1, as utf-8 blobs."""

    start: int
    text_off: np.ndarray  # int64, n+1
    text_blob: bytes | mmap.mmap  # in memory, or mapped from a saved segment
    meta_off: np.ndarray
    meta_blob: bytes | mmap.mmap

    @property
    def n(self) -> int:
        return len(self.text_off) - 1

    def text(self, i: int) -> str:
        return bytes(self.text_blob[self.text_off[i]:self.text_off[i + 1]]).decode()

    def record(self, i: int) -> list:
        return json.loads(bytes(self.meta_blob[self.meta_off[i]:self.meta_off[i + 1]]))

    @classmethod
    def build(cls, start: int, texts: list[str], records: list[list]) -> Chunk:
        tb = [t.encode() for t in texts]
        mb = [json.dumps(r, ensure_ascii=False).encode() for r in records]
        return cls(start, np.concatenate([[0], np.cumsum([len(b) for b in tb], dtype=np.int64)]).astype(np.int64),
                   b"".join(tb), np.concatenate([[0], np.cumsum([len(b) for b in mb], dtype=np.int64)]).astype(np.int64),
                   b"".join(mb))


@dataclass
class Batch:
    """What applying a run of records changed: new passages, masked ones, frequency deltas, new
    terms and word vectors, article events. One batch is one segment on disk."""

    seq: int
    chunk: Chunk
    id_hash: np.ndarray
    article_idx: np.ndarray
    paragraph: np.ndarray
    date_num: np.ndarray
    nwords: np.ndarray
    doclen: np.ndarray
    day_ordinal: np.ndarray  # date.toordinal() of the article date, 0 when undated
    postings: Postings
    kills: np.ndarray
    new_terms: list[str]
    df_delta: tuple[np.ndarray, np.ndarray]
    wdf_delta: tuple[np.ndarray, np.ndarray]
    vec_tids: np.ndarray
    vecs: np.ndarray
    new_articles: list[str]
    events: list[tuple[str, dict | None, int, int]] = field(default_factory=list)  # aid, summary, start, count

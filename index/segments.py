"""Snapshot persistence: one directory per applied batch, listed by an atomically replaced manifest.

Saving an update writes only that update's batch (O(update)), so opening an index reads a few
memory-mapped segment files instead of re-reading Chroma. Several processes may share a data dir:
a file lock serializes writers, and a process saves only while the manifest is still the one its
own snapshot continues ("lineage"); otherwise another process is saving and this one just reads.
Batches are merged on disk when they become many (amortized: each passage is rewritten a
logarithmic number of times).
"""
from __future__ import annotations

import fcntl
import json
import mmap
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .lexical import Postings
from .parts import Batch, Chunk

FORMAT = 2
_ARRAYS = ("id_hash", "article_idx", "paragraph", "date_num", "nwords", "doclen", "day_ordinal", "kills", "vec_tids", "vecs")


@contextmanager
def locked(directory: Path, exclusive: bool) -> Iterator[None]:
    """Hold the snapshot directory's file lock (shared for loading, exclusive for saving)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read_manifest(directory: Path) -> dict | None:
    """The manifest, None when absent or unreadable."""
    try:
        m = json.loads((directory / "manifest.json").read_text())
        return m if m.get("format") == FORMAT else None
    except (OSError, ValueError):
        return None


def write_manifest(directory: Path, manifest: dict) -> None:
    """Replace the manifest atomically."""
    tmp = directory / f"manifest.json.tmp{os.getpid()}"
    tmp.write_text(json.dumps({**manifest, "format": FORMAT}))
    os.replace(tmp, directory / "manifest.json")


def save_batch(directory: Path, b: Batch) -> str:
    """Write batch `b` into a new subdirectory; returns its name."""
    name = f"b{b.seq:012d}-{uuid.uuid4().hex[:8]}"
    d = directory / name
    d.mkdir(parents=True)
    for key in _ARRAYS:
        np.save(d / f"{key}.npy", getattr(b, key))
    for key in ("terms", "ptr", "docs", "tfs"):
        np.save(d / f"p_{key}.npy", getattr(b.postings, key))
    np.save(d / "df_t.npy", b.df_delta[0])
    np.save(d / "df_c.npy", b.df_delta[1])
    np.save(d / "wdf_t.npy", b.wdf_delta[0])
    np.save(d / "wdf_c.npy", b.wdf_delta[1])
    np.save(d / "text_off.npy", b.chunk.text_off)
    np.save(d / "meta_off.npy", b.chunk.meta_off)
    (d / "text.bin").write_bytes(bytes(b.chunk.text_blob))
    (d / "meta.bin").write_bytes(bytes(b.chunk.meta_blob))
    (d / "batch.json").write_text(json.dumps({"seq": b.seq, "start": b.chunk.start, "new_terms": b.new_terms,
                                              "new_articles": b.new_articles, "events": b.events},
                                             ensure_ascii=False))
    return name


def _blob(path: Path) -> bytes | mmap.mmap:
    if path.stat().st_size == 0:
        return b""
    with open(path, "rb") as f:
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def load_batch(d: Path) -> Batch:
    """Read a batch written by `save_batch` (large arrays and blobs memory-mapped)."""
    meta = json.loads((d / "batch.json").read_text())
    arr = {k: np.load(d / f"{k}.npy", mmap_mode="r") for k in _ARRAYS}
    post = Postings(*(np.load(d / f"p_{k}.npy", mmap_mode="r") for k in ("terms", "ptr", "docs", "tfs")))
    chunk = Chunk(meta["start"], np.load(d / "text_off.npy"), _blob(d / "text.bin"), np.load(d / "meta_off.npy"),
                  _blob(d / "meta.bin"))
    return Batch(seq=meta["seq"], chunk=chunk, postings=post,
                 df_delta=(np.load(d / "df_t.npy"), np.load(d / "df_c.npy")),
                 wdf_delta=(np.load(d / "wdf_t.npy"), np.load(d / "wdf_c.npy")),
                 new_terms=meta["new_terms"], new_articles=meta["new_articles"],
                 events=[tuple(e) for e in meta["events"]], **{k: np.asarray(arr[k]) if k != "vecs" else arr[k]
                                                              for k in _ARRAYS})


def merge_batches(parts: list[Batch]) -> Batch:
    """One batch equivalent to applying `parts` in order (for fewer segment directories)."""
    start = parts[0].chunk.start
    text_off, meta_off, off_t, off_m = [np.zeros(1, np.int64)], [np.zeros(1, np.int64)], 0, 0
    for p in parts:
        text_off.append(p.chunk.text_off[1:] + off_t)
        meta_off.append(p.chunk.meta_off[1:] + off_m)
        off_t += int(p.chunk.text_off[-1])
        off_m += int(p.chunk.meta_off[-1])
    chunk = Chunk(start, np.concatenate(text_off), b"".join(bytes(p.chunk.text_blob) for p in parts),
                  np.concatenate(meta_off), b"".join(bytes(p.chunk.meta_blob) for p in parts))
    cat = lambda k: np.concatenate([np.asarray(getattr(p, k)) for p in parts])  # noqa: E731
    return Batch(
        seq=parts[-1].seq, chunk=chunk, postings=Postings.merge([p.postings for p in parts]),
        df_delta=(np.concatenate([p.df_delta[0] for p in parts]), np.concatenate([p.df_delta[1] for p in parts])),
        wdf_delta=(np.concatenate([p.wdf_delta[0] for p in parts]), np.concatenate([p.wdf_delta[1] for p in parts])),
        new_terms=[t for p in parts for t in p.new_terms], new_articles=[a for p in parts for a in p.new_articles],
        events=[e for p in parts for e in p.events],
        vecs=np.vstack([np.asarray(p.vecs) for p in parts]),
        **{k: cat(k) for k in _ARRAYS if k != "vecs"})


def compact(directory: Path, names: list[str]) -> list[str]:
    """Merge the newest segment directories while the older is not much larger; returns the new list."""
    sizes = [int((directory / n / "text_off.npy").stat().st_size) for n in names]
    out, out_sizes = list(names), list(sizes)
    while len(out) >= 2 and out_sizes[-2] <= 2 * out_sizes[-1]:
        merged = save_batch(directory, merge_batches([load_batch(directory / n) for n in out[-2:]]))
        out[-2:] = [merged]
        out_sizes[-2:] = [int((directory / merged / "text_off.npy").stat().st_size)]
    return out


def remove_unlisted(directory: Path, keep: list[str]) -> None:
    """Delete segment directories no manifest lists any more (mapped files stay readable)."""
    for d in directory.glob("b*"):
        if d.is_dir() and d.name not in keep:
            shutil.rmtree(d, ignore_errors=True)

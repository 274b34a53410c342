"""The commit log: which articles became visible (or went away), in order, stored in Chroma itself.

A writer first stores all passages of its articles in the passage collection, then appends one
record naming them; readers apply records in sequence order. So a crash before the record leaves
nothing half-visible, and two writers never overwrite each other's view: each record gets its own
sequence number. Numbers are claimed with Chroma's `add`, which keeps the first record stored under
an id and ignores later ones: a writer re-reads its claimed id and, if another writer got there
first, tries the next number. The log is a second collection (`<name>-log`), so the same code works
with an embedded PersistentClient and a `chroma run` server.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

RECORD_ARTICLES = 200  # articles per record: keeps one record's document small


@dataclass(frozen=True)
class Record:
    """One commit: articles (id → its passage ids) put in place, and article ids dropped."""

    seq: int
    put: dict[str, list[str]]
    drop: list[str]


class CommitLog:
    """Append-only, gap-free sequence of `Record`s in the collection `<name>-log`."""

    def __init__(self, client: Any, name: str):
        self.col = client.get_or_create_collection(name + "-log", embedding_function=None,
                                                   metadata={"khabar_log": "1"})
        self._head = 0

    @property
    def uid(self) -> str:
        """Identity of this log (a rebuilt or recreated index gets a new one)."""
        return str(self.col.id)

    def records(self, after: int, limit: int | None = None) -> list[Record]:
        """Records with a sequence number above `after` (at most `limit`), in order, up to the first gap."""
        where = {"seq": {"$gt": after}} if limit is None else \
            {"$and": [{"seq": {"$gt": after}}, {"seq": {"$lte": after + limit}}]}
        got = self.col.get(where=where, include=["documents", "metadatas"])
        self._head = max(self._head, after)  # a writer starts claiming from what its reader has seen
        recs = sorted((int(m["seq"]), d) for m, d in zip(got["metadatas"], got["documents"], strict=True))
        out = []
        for seq, doc in recs:
            if seq != after + 1:
                break  # cannot happen with claimed numbers; never skip a record
            body = json.loads(doc)
            out.append(Record(seq, body.get("put", {}), body.get("drop", [])))
            after = seq
        if out:
            self._head = max(self._head, out[-1].seq)
        return out

    def empty(self) -> bool:
        """Whether no record was ever committed."""
        return not self.col.get(limit=1, include=[])["ids"]

    def append(self, put: dict[str, list[str]] | None = None, drop: list[str] | None = None) -> int:
        """Commit one record (split into several when large); returns the last sequence number."""
        put, drop = dict(put or {}), list(drop or [])
        items = list(put.items())
        seq = 0
        chunks = [items[i:i + RECORD_ARTICLES] for i in range(0, len(items), RECORD_ARTICLES)] or [[]]
        for i, chunk in enumerate(chunks):
            seq = self._append_one(dict(chunk), drop if i == 0 else [])
        return seq

    def _append_one(self, put: dict[str, list[str]], drop: list[str]) -> int:
        doc = json.dumps({"put": put, "drop": drop}, ensure_ascii=False)
        nonce = uuid.uuid4().hex
        seq = self._head + 1  # usually free: this process has seen every record up to its head
        while True:
            rid = f"{seq:016d}"
            self.col.add(ids=[rid], documents=[doc], embeddings=[[0.0]],
                         metadatas=[{"seq": seq, "nonce": nonce, "at": time.time()}])
            got = self.col.get(ids=[rid], include=["metadatas"])["metadatas"]
            if got and got[0].get("nonce") == nonce:
                self._head = seq
                return seq
            # another writer claimed this number first: skip past every number claimed so far
            newer = self.col.get(where={"seq": {"$gt": seq}}, include=["metadatas"])["metadatas"]
            seq = max([seq] + [int(m["seq"]) for m in newer]) + 1

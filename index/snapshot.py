"""Immutable snapshots of the committed index, built incrementally from commit-log records.

A `Snapshot` is what one search reads from start to end: passage positions with compact numpy
columns (article, paragraph, date, lengths, alive), texts and metadata in byte blobs (memory-mapped
when loaded from disk, fetched for the hits only), the BM25 postings and the lexicon. Applying
records never changes a snapshot: `apply` returns a new one that shares the old one's immutable
parts (text chunks, postings segments, lexicon blocks) and copies only small arrays. Replaced and
removed passages are masked, not moved, so positions stay valid for the snapshot's lifetime.
"""
from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np

from .commitlog import Record
from .lexical import EMPTY, LexicalIndex, Postings, Vocabulary, add_tiered
from .lexicon import Lexicon, block, df_bounds, lexicon_words, merge_blocks
from .models import ArticleSummary, StoredPassage
from .normalizer import tokenize_words, words
from .parts import GROWN, Batch, Chunk, Column, id_hash, iso_ordinal

SUMMARY_KEYS = ("article_id", "title", "date", "url", "source", "lang", "content_hash", "norm_hash",
                "n_passages")
TAIL_MAX = 50_000  # recent id → position entries kept in dicts before merging into sorted arrays


class Snapshot:
    """One consistent, immutable view of the committed passages (see the module doc)."""

    def __init__(self, *, log_uid: str, seq: int, vocab: Vocabulary, chunks: list[Chunk],
                 article_idx: np.ndarray, paragraph: np.ndarray, date_num: np.ndarray, nwords: np.ndarray,
                 doclen: np.ndarray, day_ordinal: np.ndarray, alive: np.ndarray, keys: np.ndarray,
                 key_pos: np.ndarray, tail: tuple[dict, ...], df: np.ndarray, wdf: np.ndarray,
                 postings: list[Postings], blocks: list, n_alive: int, total_len: int, art_ids: list[str],
                 art_index: dict, summaries: list, art_start: np.ndarray, art_count: np.ndarray, norms: dict,
                 embedded: set, columns: dict[str, Column | None] | None = None):
        self.log_uid, self.seq = log_uid, seq
        self.vocab = vocab
        self.chunks = chunks
        self._starts = [c.start for c in chunks]
        self.article_idx, self.paragraph, self.date_num = article_idx, paragraph, date_num
        self.lengths, self.doclen, self.alive = nwords, doclen, alive
        self.day_ordinal = day_ordinal
        self._keys, self._key_pos = keys, key_pos
        self._tail = tail  # recent id key → position dicts, newest last (immutable once shared)
        self._columns = columns or {}  # the shared buffers behind the GROWN columns
        self.df, self.wdf = df, wdf
        self.postings, self.blocks = postings, blocks
        self.n_alive, self.total_len = n_alive, total_len
        self._art_ids, self._art_index, self._summaries = art_ids, art_index, summaries
        self.art_start, self.art_count, self._norms = art_start, art_count, norms
        self._embedded = embedded
        self.lexical = LexicalIndex(vocab, postings, df, doclen, alive, n_alive, total_len)
        self.lexicon = Lexicon(vocab.terms, blocks, wdf, n_alive)
        self.cache: dict = {}  # per-snapshot arrays derived by callers (retrieval), built once

    @classmethod
    def empty(cls, log_uid: str) -> Snapshot:
        """The snapshot of an index with no committed record."""
        i32 = np.zeros(0, np.int32)
        return cls(log_uid=log_uid, seq=0, vocab=Vocabulary(), chunks=[], article_idx=i32, paragraph=i32,
                   date_num=i32, nwords=i32, doclen=i32, day_ordinal=i32, alive=np.zeros(0, bool), keys=np.zeros(0, np.uint64),
                   key_pos=i32, tail=(), df=i32, wdf=i32, postings=[], blocks=[], n_alive=0, total_len=0,
                   art_ids=[], art_index={}, summaries=[], art_start=i32, art_count=i32, norms={},
                   embedded=set())

    # ---- reads ----------------------------------------------------------------------------------
    @property
    def generation(self) -> str:
        """Which log state this snapshot shows (log identity and last applied record)."""
        return f"{self.log_uid}:{self.seq}"

    @property
    def size(self) -> int:
        """Number of positions (live and masked)."""
        return len(self.alive)

    def _chunk(self, pos: int) -> tuple[Chunk, int]:
        c = self.chunks[bisect.bisect_right(self._starts, pos) - 1]
        return c, pos - c.start

    def text(self, pos: int) -> str:
        """Passage text at `pos`."""
        c, i = self._chunk(pos)
        return c.text(i)

    def texts(self, positions: Iterable[int]) -> list[str]:
        """Passage texts at `positions`."""
        return [self.text(int(p)) for p in positions]

    def meta(self, pos: int) -> dict:
        """Passage metadata at `pos` (as stored in Chroma)."""
        c, i = self._chunk(pos)
        return c.record(i)[1]

    def passage(self, pos: int) -> StoredPassage:
        """Passage metadata at `pos` as a typed record."""
        return StoredPassage.from_meta(self.meta(pos))

    def id(self, pos: int) -> str:
        """Passage id at `pos`."""
        c, i = self._chunk(pos)
        return c.record(i)[0]

    def position(self, pid: str) -> int | None:
        """Position of the live passage `pid` in this snapshot, None if it is not live here."""
        key = id_hash(pid)
        pos = None
        for level in reversed(self._tail):
            pos = level.get(key)
            if pos is not None:
                break
        if pos is None:
            i = int(np.searchsorted(self._keys, np.uint64(key)))
            if i < len(self._keys) and self._keys[i] == key:
                pos = int(self._key_pos[i])
        return pos if pos is not None and pos < len(self.alive) and self.alive[pos] else None

    def live_positions(self) -> np.ndarray:
        """Positions of all live passages, in position order."""
        return np.flatnonzero(self.alive)

    def articles(self) -> dict[str, ArticleSummary]:
        """One summary per live article: title, date, url, source, lang, hashes, passage count."""
        return {a: ArticleSummary.from_meta(s) for a, s in zip(self._art_ids, self._summaries, strict=True)
                if s is not None}

    def article(self, aid: str) -> ArticleSummary | None:
        """Summary of the live article `aid`, None if absent."""
        i = self._art_index.get(aid)
        if i is None or i >= len(self._summaries) or not self._summaries[i]:
            return None
        return ArticleSummary.from_meta(self._summaries[i])

    def english(self) -> np.ndarray:
        """Per position: whether its article is in English (computed once per snapshot)."""
        got = self.cache.get("english")
        if got is None:
            arts = np.fromiter((bool(m) and m.get("lang") == "en" for m in self._summaries), bool,
                               len(self._summaries))
            got = self.cache.setdefault("english", arts[self.article_idx] if len(arts) else
                                        np.zeros(self.size, bool))
        return got

    def language_counts(self) -> tuple[int, int]:
        """Live passages of English articles and of the others (computed once per snapshot)."""
        got = self.cache.get("language_counts")
        if got is None:
            en = int((self.english() & self.alive).sum())
            got = self.cache.setdefault("language_counts", (en, int(self.alive.sum()) - en))
        return got

    def article_by_norm(self, norm_hash: str) -> str | None:
        """Id of a live article with this normalized-content hash."""
        aid = self._norms.get(norm_hash)
        return aid if aid is not None and self.article(aid) else None

    def article_positions(self, aid: str) -> range:
        """Positions of the live passages of article `aid` (contiguous)."""
        i = self._art_index.get(aid)
        if i is None or i >= len(self._summaries) or self._summaries[i] is None:
            return range(0)
        return range(int(self.art_start[i]), int(self.art_start[i] + self.art_count[i]))

    @property
    def n_articles(self) -> int:
        return sum(1 for s in self._summaries if s is not None)

    # ---- incremental update ----------------------------------------------------------------------
    def build_batch(self, records: list[Record], fetch: Callable[[list[str]], dict[str, tuple[str, dict]]],
                    encode: Callable[[list[str]], np.ndarray]) -> Batch:
        """Turn `records` into a `Batch` against this snapshot: O(passages touched), never O(index)."""
        final: dict[str, list[str] | None] = {}
        for rec in records:
            for aid in rec.drop:
                final.pop(aid, None)
                final[aid] = None
            for aid, pids in rec.put.items():
                final.pop(aid, None)
                final[aid] = list(pids)
        kills = [p for aid in final for p in self.article_positions(aid)]
        got = fetch([pid for pids in final.values() if pids for pid in pids])
        start = self.size
        vocab_before = len(self.vocab)
        texts: list[str] = []
        recs: list = []
        cols: dict[str, list[int]] = {k: [] for k in ("article_idx", "paragraph", "date_num", "nwords", "doclen",
                                                                  "day_ordinal")}
        trip_t, trip_d, trip_f = [], [], []
        df_d: Counter = Counter()
        wdf_d: Counter = Counter()
        new_articles: list[str] = []
        events: list[tuple[str, dict | None, int, int]] = []
        fresh: dict[str, int] = {}
        known = self.vocab.ids  # looked up directly first: the hot loop of a bulk apply
        for aid, kept in final.items():
            rows = sorted(((pid, *got[pid]) for pid in (kept or []) if pid in got),
                          key=lambda r: (r[2].get("paragraph", 0), r[2].get("part", 0)))
            if not rows:
                events.append((aid, None, 0, 0))
                continue
            idx = self._art_index.get(aid)
            if idx is None or idx >= len(self._art_ids):
                idx = fresh.setdefault(aid, len(self._art_ids) + len(fresh))
                if len(new_articles) < len(fresh):
                    new_articles.append(aid)
            first = start + len(texts)
            paragraphs = 0
            for pid, text, meta in rows:
                pos = start + len(texts)
                texts.append(text)
                recs.append([pid, meta])
                ws = words(text)
                toks = tokenize_words(ws) or [EMPTY]
                for term, tf in Counter(toks).items():
                    tid = known.get(term)
                    if tid is None:
                        tid = self.vocab.add(term)
                    trip_t.append(tid)
                    trip_d.append(pos)
                    trip_f.append(tf)
                    df_d[tid] += 1
                for w in lexicon_words(ws):
                    tid = known.get(w)
                    wdf_d[tid if tid is not None else self.vocab.add(w)] += 1
                cols["article_idx"].append(idx)
                cols["paragraph"].append(int(meta.get("paragraph", 0)))
                cols["date_num"].append(int(meta.get("date_num", 0) or 0))
                cols["nwords"].append(len(ws))
                cols["doclen"].append(len(toks))
                cols["day_ordinal"].append(iso_ordinal(meta.get("date") or ""))
                paragraphs = max(paragraphs, int(meta.get("paragraph", 0)))
            m = rows[0][2]
            summary = {k: m.get(k) for k in SUMMARY_KEYS}
            summary["paragraphs"] = paragraphs
            events.append((aid, summary, first, len(rows)))
        for pos in kills:
            ws = words(self.text(pos))
            for term in set(tokenize_words(ws) or [EMPTY]):
                df_d[self.vocab.ids[term]] -= 1
            for w in lexicon_words(ws):
                wdf_d[self.vocab.ids[w]] -= 1
        # the words this batch makes eligible for the lexicon that have no vector yet
        n_alive = self.n_alive - len(kills) + len(texts)
        lo, _ = df_bounds(n_alive)
        need = sorted(t for t, d in wdf_d.items() if d > 0 and t not in self._embedded
                      and (self.wdf[t] if t < len(self.wdf) else 0) + d >= lo)
        vecs = [np.asarray(encode([self.vocab.terms[t] for t in need]), dtype=np.float32)] if need else []
        dim = vecs[0].shape[1] if vecs else (self.blocks[0][1].shape[1] if self.blocks else 1)
        i32 = lambda xs: np.asarray(xs, dtype=np.int32)  # noqa: E731
        return Batch(
            seq=records[-1].seq if records else self.seq,
            chunk=Chunk.build(start, texts, recs),
            id_hash=np.array([id_hash(r[0]) for r in recs], dtype=np.uint64),
            **{k: i32(v) for k, v in cols.items()},
            postings=Postings.from_triples(i32(trip_t), i32(trip_d), i32(trip_f)),
            kills=i32(kills), new_terms=self.vocab.terms[vocab_before:len(self.vocab)],
            df_delta=(i32(list(df_d)), i32(list(df_d.values()))),
            wdf_delta=(i32(list(wdf_d)), i32(list(wdf_d.values()))),
            vec_tids=i32(need), vecs=np.vstack(vecs) if vecs else np.zeros((0, dim), np.float32),
            new_articles=new_articles, events=events)

    def with_batch(self, b: Batch, log_uid: str | None = None) -> Snapshot:
        """A new snapshot: this one plus batch `b` (this one is left untouched)."""
        for t in b.new_terms:
            self.vocab.add(t)  # no-op when `b` was built here; replays a persisted batch's terms
        v = len(self.vocab)
        alive = np.concatenate([self.alive, np.ones(b.chunk.n, bool)])
        alive[b.kills] = False
        n_alive = self.n_alive + b.chunk.n - len(b.kills)
        grown, columns = {}, {}
        for name, view in zip(GROWN, (self.article_idx, self.paragraph, self.date_num, self.lengths, self.doclen,
                                      self.day_ordinal), strict=True):
            grown[name], columns[name] = Column.extend(self._columns.get(name), view, np.asarray(getattr(b, name)))
        doclen = grown["doclen"]  # a merged batch may mask passages it added itself
        total_len = self.total_len + int(b.doclen.sum()) - int(doclen[b.kills].sum())
        df = np.zeros(v, np.int32)
        df[:len(self.df)] = self.df
        np.add.at(df, b.df_delta[0], b.df_delta[1])
        wdf = np.zeros(v, np.int32)
        wdf[:len(self.wdf)] = self.wdf
        np.add.at(wdf, b.wdf_delta[0], b.wdf_delta[1])
        # id lookup: new ids go to a new tail dict; tail dicts of similar size are merged (O(log n)
        # of them, never copied per update); a full tail is merged into the sorted arrays
        tail = list(self._tail)
        if len(b.id_hash):
            tail.append(dict(zip(b.id_hash.tolist(), range(b.chunk.start, b.chunk.start + len(b.id_hash)), strict=True)))
        while len(tail) >= 2 and len(tail[-2]) <= 2 * len(tail[-1]):
            tail[-2:] = [{**tail[-2], **tail[-1]}]
        keys, key_pos = self._keys, self._key_pos
        if sum(len(t) for t in tail) > TAIL_MAX:
            merged = {k: p for t in tail for k, p in t.items()}
            live = alive[key_pos] if len(key_pos) else np.zeros(0, bool)
            tk = np.fromiter(merged.keys(), np.uint64, len(merged))
            tp = np.fromiter(merged.values(), np.int32, len(merged))
            drop = np.isin(keys, tk)
            k_all = np.concatenate([keys[live & ~drop], tk])
            p_all = np.concatenate([key_pos[live & ~drop], tp])
            order = np.argsort(k_all, kind="stable")
            keys, key_pos, tail = k_all[order], p_all[order], []
        art_ids = self._art_ids + b.new_articles
        art_index = self._art_index
        for i, aid in enumerate(b.new_articles):
            art_index[aid] = len(self._art_ids) + i
        summaries = self._summaries + [None] * len(b.new_articles)
        art_start = np.concatenate([self.art_start, np.zeros(len(b.new_articles), np.int32)])
        art_count = np.concatenate([self.art_count, np.zeros(len(b.new_articles), np.int32)])
        norms = self._norms
        for aid, summary, first, count in b.events:
            if aid not in art_index:
                continue
            i = art_index[aid]
            old = summaries[i]
            if old is not None and norms.get(old.get("norm_hash")) == aid:
                norms.pop(old.get("norm_hash"), None)
            summaries[i] = summary
            art_start[i], art_count[i] = first, count
            if summary is not None and summary.get("norm_hash"):
                norms[summary["norm_hash"]] = aid
        embedded = self._embedded
        embedded.update(b.vec_tids.tolist())
        blocks = merge_blocks(self.blocks + ([block(self.vocab.terms, b.vec_tids, b.vecs)] if len(b.vec_tids) else []))
        return Snapshot(
            log_uid=log_uid or self.log_uid, seq=b.seq, vocab=self.vocab, chunks=self.chunks + [b.chunk],
            **grown, alive=alive, keys=keys, key_pos=key_pos, tail=tuple(tail), df=df, wdf=wdf,
            postings=add_tiered(self.postings, b.postings), blocks=blocks, n_alive=n_alive, total_len=total_len,
            art_ids=art_ids, art_index=art_index, summaries=summaries, art_start=art_start,
            art_count=art_count, norms=norms, embedded=embedded, columns=columns)

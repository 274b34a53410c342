"""Incremental, idempotent ingestion: loaded articles → passages → embeddings → store."""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from .chunking import split_paragraphs
from .errors import LoadError, LoadNote, NotFound
from .models import Article, Passage, StoredPassage
from .normalizer import compact
from .store import PassageStore

log = logging.getLogger(__name__)


class Progress(Protocol):
    """What ingestion reports while it works (the CLI draws a bar with rate and ETA)."""

    def start(self, total: int, label: str) -> None: ...
    def advance(self, n: int) -> None: ...


@dataclass
class IngestReport:
    """What one ingest did: counts per outcome, messages, timings."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0
    failed: int = 0
    passages: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0


@dataclass
class _Pending:
    article: Article
    passages: list[Passage]
    content_hash: str
    norm_hash: str
    stale_ids: list[str] = field(default_factory=list)
    replaces: str | None = None  # the same file under the content id an earlier version gave it


def embedding_text(title: str, text: str) -> str:
    """What is embedded for a passage: the article title gives a paragraph its topic."""
    return f"{title}\n{text}" if title and title not in text else text


def passage_meta(p: Passage, pending: _Pending) -> dict:
    """Chroma metadata of a passage (StoredPassage is its one definition)."""
    return StoredPassage(
        article_id=p.article_id, title=p.title, date=p.date or "", url=p.url or "", source=p.source,
        lang=p.lang, paragraph=p.paragraph, part=p.part, start=p.start, end=p.end,
        content_hash=pending.content_hash, norm_hash=pending.norm_hash, n_passages=len(pending.passages),
    ).to_meta()


MAX_PASSAGES = 20_000  # per article (KHABAR_MAX_ARTICLE_PASSAGES): ~10 minutes of embedding on 2 cores


def ingest(store: PassageStore, items: Iterable[Article | LoadError], max_chars: int = 900,
           batch: int = 64, progress: Progress | None = None, *, max_passages: int = MAX_PASSAGES) -> IngestReport:
    """Add new and changed articles to `store`; unchanged and duplicate ones cost no embedding;
    an article over `max_passages` passages is refused with a message."""
    t0 = time.perf_counter()
    report = IngestReport()
    snap = store.snapshot()  # committed articles, looked up one by one (never all loaded)
    seen_ids: dict[str, str] = {}
    seen_norm: dict[str, str] = {}
    todo: list[_Pending] = []
    for item in items:
        if isinstance(item, LoadError):
            if isinstance(item, LoadNote):
                report.notes.append(str(item))
            else:
                report.failed += 1
                report.errors.append(str(item))
            continue
        passages = split_paragraphs(item, max_chars)
        if not passages:
            report.failed += 1
            report.errors.append(f"{item.origin or item.source}: the article has no paragraphs with text")
            continue
        if len(passages) > max_passages:
            report.failed += 1
            where = item.origin or item.source or item.article_id
            report.errors.append(f"{where}: too long: {len(passages)} passages (the limit is "
                                 f"{max_passages} per article, KHABAR_MAX_ARTICLE_PASSAGES)")
            continue
        aid = item.article_id
        content_hash = item.content_hash()
        # identical normalized title and text = the same article, whatever its URL or spelling
        norm_hash = hashlib.sha1(compact(" ".join([item.title, *(p.text for p in passages)])).encode()).hexdigest()
        origin = item.origin or item.source
        first = seen_ids.get(aid) or seen_norm.get(norm_hash)
        other = snap.article_by_norm(norm_hash)
        renamed = None
        if other and other != aid and item.path and (other == "sha1:" + content_hash[:20] or (
                other.startswith("file:") and not store.settings.chroma_url and not Path(other[5:]).exists())):
            # this file as an earlier version stored it, named by its content, or moved here from a path
            # that is gone: it takes its path's id (a shared server's paths are other hosts': left alone)
            renamed, other = other, None
        if first or (other and other != aid):
            report.duplicate += 1
            report.duplicates.append(f"{origin}: duplicate of {first or other}")
            continue
        seen_ids[aid] = origin
        seen_norm[norm_hash] = origin
        old = snap.article(aid)
        if old and old.content_hash == content_hash:
            report.unchanged += 1
            continue
        pending = _Pending(item, passages, content_hash, norm_hash, replaces=renamed)
        if renamed:
            report.updated += 1
        elif old:
            report.updated += 1
            new_ids = {p.id for p in passages}
            pending.stale_ids = [pid for pid in store.passage_ids_of(aid) if pid not in new_ids]
        else:
            report.added += 1
        todo.append(pending)
    if todo:
        _write(store, todo, batch, progress, report)
    report.seconds = time.perf_counter() - t0
    return report


def _write(store: PassageStore, todo: list[_Pending], batch: int, progress: Progress | None,
           report: IngestReport) -> None:
    """Embed in batches across articles while the previous batch is written (storage off the hot path)."""
    total = sum(len(p.passages) for p in todo)
    if progress:
        progress.start(total, "embedding")
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="khabar-writer")
    inflight: Future | None = None
    try:
        # batches of `batch` passages whatever the article boundaries: a huge article is embedded
        # and written piece by piece, with progress (it counts only once all its pieces are in)
        pairs = [(g, p) for g in todo for p in g.passages]
        for start in range(0, len(pairs), max(1, batch)):
            group = pairs[start:start + max(1, batch)]
            texts = [embedding_text(p.title, p.text) for _, p in group]
            t = time.perf_counter()
            vectors = store.embedder.encode_passages(texts)
            report.embed_seconds += time.perf_counter() - t
            if inflight is not None:
                inflight.result()  # surface write errors; at most one batch waits in memory
            inflight = writer.submit(_store_group, store, group, vectors)
            report.passages += len(group)
            if progress:
                progress.advance(len(group))
        if inflight is not None:
            inflight.result()
    finally:
        writer.shutdown(wait=True)
    store.commit(progress)


def _store_group(store: PassageStore, group: list[tuple[_Pending, Passage]], vectors: np.ndarray) -> None:
    ids, texts, metas = [], [], []
    for g, p in group:
        ids.append(p.id)
        texts.append(p.text)
        metas.append(passage_meta(p, g))
    store.upsert(ids, vectors, texts, metas)
    # an updated article's old passages go with its last new one
    stale = [pid for g, p in group if p is g.passages[-1] for pid in g.stale_ids]
    if stale:
        store.delete_ids(stale)
    # only now, with every passage of these articles stored (batches are written in order, so an
    # article whose last passage is here has all of them stored), do they become visible
    done = {g.article.article_id: [q.id for q in g.passages] for g, p in group if p is g.passages[-1]}
    renamed = [g.replaces for g, p in group if p is g.passages[-1] and g.replaces]
    if done:
        store.commit_articles(done, drop=renamed or None)  # the new name visible as the old one goes
    for old_id in renamed:
        store.delete_ids(store.passage_ids_of(old_id))


def remove_articles(store: PassageStore, keys: list[str]) -> list[str]:
    """Remove articles by id, URL or (a one-article file) path; returns the removed ids, NotFound if a key
    matches none."""
    snap = store.snapshot()
    ids = []
    for key in keys:
        aid = key if snap.article(key) else None
        if aid is None:  # a URL: article ids are URLs when known, else look through the summaries
            aid = next((a for a, s in snap.articles().items() if s.url == key), None)
        if aid is None and "://" not in key:  # a one-article file, by the path it was added from
            try:
                path_id = f"file:{Path(key).resolve()}"
            except (OSError, RuntimeError, ValueError):
                path_id = ""
            aid = path_id if path_id and snap.article(path_id) else None
        if aid is None:
            raise NotFound(key)
        ids.append(aid)
    store.commit_articles(drop=ids)  # out of view first, then out of Chroma
    for aid in ids:
        store.delete_ids(store.passage_ids_of(aid))
    store.commit()
    return ids

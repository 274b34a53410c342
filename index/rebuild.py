"""Re-embedding a whole collection with another embedder (`khabar index rebuild`)."""
from __future__ import annotations

from .chroma import SCHEMA
from .embeddings import VectorEmbeddings
from .ingest import Progress, embedding_text
from .settings import IndexSettings
from .store import PassageStore


def rebuild_index(settings: IndexSettings, embedder: VectorEmbeddings, progress: Progress | None = None,
                  batch: int = 64) -> int:
    """Re-embed every passage into a staged collection, then swap it in; returns the passage count.

    The old collection stays usable until the staged one is complete; an interrupted swap is
    finished the next time the store opens.
    """
    old = PassageStore(settings, embedder, check_embedder=False)
    snap = old.snapshot()
    live = snap.live_positions()
    staged_name = settings.collection + "-rebuild"
    try:
        old.client.delete_collection(staged_name)
    except Exception:  # noqa: BLE001 - nothing staged from an earlier attempt
        pass
    staged = old.client.create_collection(
        staged_name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}},
        metadata={"khabar_embedder": embedder.name, "khabar_schema": SCHEMA})
    if progress:
        progress.start(len(live), "re-embedding")
    for i in range(0, len(live), batch):
        part = live[i:i + batch]
        ids, texts, metas = [snap.id(p) for p in part], snap.texts(part), [snap.meta(p) for p in part]
        vectors = embedder.encode_passages([embedding_text(m.get("title", ""), t) for t, m in zip(texts, metas, strict=True)])
        staged.upsert(ids=ids, embeddings=vectors, documents=texts, metadatas=metas)
        if progress:
            progress.advance(len(ids))
    old.client.delete_collection(settings.collection)
    staged.modify(name=settings.collection)
    # the commit log still names the same passages; the new embedder makes every process rebuild
    # its lexicon vectors (the saved snapshot records which embedder built it)
    PassageStore(settings, embedder)
    return len(live)

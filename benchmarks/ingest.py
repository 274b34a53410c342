"""Ingest benchmark: all Fars articles + the seed, against the embedder alone on the same passages.

Usage: python benchmarks/ingest.py [--limit N] [--keep DIR]
Reports wall time, passages/s, peak RSS, the ratio to the embedder-alone time (target ≤ 1.2),
and the unchanged re-ingest time (target ≤ 10 s).
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from _common import SHARED

from bot.settings import Settings
from index.chunking import split_paragraphs
from index.embeddings import E5Embeddings
from index.ingest import embedding_text, ingest
from index.loaders import load_articles
from index.models import Article
from index.store import PassageStore


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0, help="only the first N articles")
    ap.add_argument("--keep", help="build the index here (kept) instead of a temp dir")
    args = ap.parse_args()
    sources = [str(SHARED / "corpora" / "seed"), str(SHARED / "corpora" / "fars-news")]
    data = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="khabar-bench-"))
    items = list(load_articles(sources))
    if args.limit:
        items = items[: args.limit]
    embedder = E5Embeddings()
    embedder.encode_passages(["warm up"])
    settings = Settings(data_dir=data)

    t0 = time.perf_counter()
    store = PassageStore(settings, embedder, create=True)
    report = ingest(store, load_articles(sources) if not args.limit else items)
    first = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    t0 = time.perf_counter()
    again = ingest(PassageStore(settings, embedder), load_articles(sources) if not args.limit else items)
    rerun = time.perf_counter() - t0

    # the embedder alone, same passages, same batches, same process
    texts = [embedding_text(p.title, p.text) for a in items if isinstance(a, Article)
             for p in split_paragraphs(a)][: report.passages]
    t0 = time.perf_counter()
    for i in range(0, len(texts), 64):
        embedder.encode_passages(texts[i:i + 64])
    alone = time.perf_counter() - t0
    out = {
        "articles_added": report.added, "duplicates": report.duplicate, "failed": report.failed,
        "passages": report.passages, "first_ingest_s": round(first, 1),
        "passages_per_s": round(report.passages / first, 1), "embedder_alone_s": round(alone, 1),
        "ratio_to_embedder": round(first / alone, 3), "peak_rss_mb": round(rss_mb),
        "unchanged_rerun_s": round(rerun, 2), "rerun_unchanged": again.unchanged, "rerun_added": again.added,
    }
    print(json.dumps(out, indent=2))
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()

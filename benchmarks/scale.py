"""Scale benchmark: grow a synthetic index (real Fars paragraphs recombined) and measure what an update
costs and what a worker needs at each size.

Usage: python benchmarks/scale.py [--sizes 10000,100000,1000000] [--mode server|embedded] [--json]
       [--updates 5] [--searches 50] [--keep DIR]

Only Khabar's own bookkeeping is timed: the vectors come from a fast deterministic stand-in embedder
(hashed words → 384 dimensions), allowed here only. At each size (the index grows from one size to
the next) it reports:
  passages, bulk_passages_per_s (ingest excluding the embedder), update_visible_s (one one-article
  ingest until a second, already open process finds it: writer + log poll + reader apply),
  writer_update_s, reader_apply_s, open_s (a fresh worker opening the index from its saved
  snapshot), reader_rss_mb (that worker after opening and searching), snapshot_mb, search_p50_ms /
  search_p95_ms (hybrid search in the worker, in-process). Medians over --updates updates.
With --mode server the index lives in a `chroma run` server started here (the worker holds no
vectors); with --mode embedded each process opens Chroma's files itself (its vectors count in RSS).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import ROOT, SHARED, percentile

from index.embeddings import VectorEmbeddings
from index.models import Article
from index.normalizer import words

DIM = 384
QUESTIONS = ["قیمت نفت در بازار جهانی", "What did the ministry say about the budget?", "انتخابات مجلس شورای اسلامی",
             "وزیر امور خارجه در سفر به", "tehran football league match", "تیم ملی فوتبال ایران"]


class StandInEmbedder(VectorEmbeddings):
    """Deterministic hashed-word vectors: same text → same vector in every process, ~µs per text."""

    name = "bench:hashed-words-384"

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        rows, cols, signs = [], [], []
        for i, t in enumerate(texts):
            for w in words(t)[:48]:
                h = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
                rows.append(i)
                cols.append(h % DIM)
                signs.append(1.0 if (h >> 32) & 1 else -1.0)
        v = np.zeros((len(texts), DIM), np.float32)
        np.add.at(v, (np.array(rows, np.int64), np.array(cols, np.int64)), np.array(signs, np.float32))
        v[np.abs(v).sum(axis=1) == 0, 0] = 1.0
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode_passages([text])[0]

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode_passages(texts)


def fars_paragraphs() -> tuple[list[str], list[str]]:
    """All Fars titles and paragraphs (the building blocks of the synthetic articles)."""
    titles, paras = [], []
    for f in sorted((SHARED / "corpora" / "fars-news").glob("*.json")):
        for a in json.loads(f.read_text()):
            titles.append(a.get("title") or "")
            paras += [p for p in a.get("paragraphs", []) if p and p.strip()]
    return titles, paras


def synthetic(rnd: random.Random, titles, paras, i: int) -> Article:
    """Article `i`: a real title and 3–12 real paragraphs, recombined (every combination is new)."""
    picked = rnd.sample(paras, rnd.randint(3, 12))
    d = f"{2005 + i % 16}-{1 + i % 12:02d}-{1 + i % 28:02d}"
    return Article(title=f"{rnd.choice(titles)} ({i})", paragraphs=picked, url=f"https://bench.example/a/{i}",
                   date=d, source="bench", lang="fa")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def settings_for(data: Path, url: str | None):
    from bot.settings import Settings

    return Settings(data_dir=data, chroma_url=url, embed_batch=512)


# ---- the second process ------------------------------------------------------------------------------
def reader(data: str, url: str | None, searches: int) -> None:
    """A worker: open, report, then follow commands on stdin (wait for a marker word / search)."""
    from bot.core.retrieval import HybridSearcher, SearchOptions
    from index.store import PassageStore

    t = time.perf_counter()
    store = PassageStore(settings_for(Path(data), url), StandInEmbedder())
    open_s = time.perf_counter() - t
    searcher = HybridSearcher(store)
    print(json.dumps({"open_s": open_s, "rss_mb": rss_mb(), "passages": store.snapshot().n_alive}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "wait":  # poll the log until the marker is searchable
            while True:
                t = time.perf_counter()
                changed = store.refresh()
                applied = time.perf_counter() - t
                res = searcher.search(cmd["marker"], SearchOptions(k=3, mode="bm25"))
                if res.hits and cmd["marker"] in res.snap.text(res.hits[0].pos):
                    print(json.dumps({"visible_at": time.time(), "apply_s": applied if changed else 0.0}), flush=True)
                    break
                time.sleep(0.02)
        elif cmd["op"] == "search":
            times = []
            for i in range(searches):
                t = time.perf_counter()
                searcher.search(QUESTIONS[i % len(QUESTIONS)], SearchOptions())
                times.append((time.perf_counter() - t) * 1000)
            print(json.dumps({"p50": statistics.median(times), "p95": percentile(times, 95), "rss_mb": rss_mb()}),
                  flush=True)
        elif cmd["op"] == "quit":
            return


# ---- the writer (this process) ------------------------------------------------------------------------
def start_chroma(path: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).with_name("chroma")), "run", "--path", str(path), "--host",
                             "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    import httpx

    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            return proc, f"http://127.0.0.1:{port}"
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("chroma run did not start")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--mode", choices=["server", "embedded"], default="server")
    ap.add_argument("--updates", type=int, default=5)
    ap.add_argument("--searches", type=int, default=50)
    ap.add_argument("--json", action="store_true", help="one JSON object per size on stdout")
    ap.add_argument("--keep", help="work directory (kept) instead of a temp dir")
    ap.add_argument("--copy-snapshot", action="store_true",
                    help="give the worker a copy of the writer's saved snapshot instead of letting it replay the "
                         "whole log once (first_open_s is then not measured)")
    ap.add_argument("--reader", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reader:
        return reader(args.reader, args.url, args.searches)

    from index.ingest import ingest
    from index.store import PassageStore

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="khabar-scale-"))
    server, url = start_chroma(work / "chroma-server") if args.mode == "server" else (None, None)
    titles, paras = fars_paragraphs()
    rnd = random.Random(11)
    embedder = StandInEmbedder()
    store = PassageStore(settings_for(work / "writer", url), embedder, create=True)
    reader_dir = work / ("writer" if args.mode == "embedded" else "reader")
    n_articles = 0
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            # bulk growth to `size` passages
            t_bulk, embed_s, added = time.perf_counter(), 0.0, 0
            while store.snapshot().n_alive < size:
                want = size - store.snapshot().n_alive
                arts = []
                while sum(len(a.paragraphs) for a in arts) < min(want, 20000):
                    arts.append(synthetic(rnd, titles, paras, n_articles))
                    n_articles += 1
                rep = ingest(store, arts, batch=512)
                embed_s += rep.embed_seconds
                added += rep.passages
                if not args.json:
                    print(f"  … {store.snapshot().n_alive} passages", file=sys.stderr, flush=True)
            bulk_s = time.perf_counter() - t_bulk
            # a fresh worker opens the index; then one-article updates are timed end to end
            cmd = [sys.executable, str(Path(__file__)), "--reader", str(reader_dir), "--searches", str(args.searches)]
            if url:
                cmd += ["--url", url]
            first = {"open_s": None}
            if args.copy_snapshot and reader_dir != store.data_dir:
                shutil.rmtree(reader_dir / store.snapshot_dir.name, ignore_errors=True)
                shutil.copytree(store.snapshot_dir, reader_dir / store.snapshot_dir.name)
            else:
                # the first open of a new worker dir replays the log; the second opens the saved snapshot
                proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                first = json.loads(proc.stdout.readline())
                proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                proc.stdin.flush()
                proc.wait()
            proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            opened = json.loads(proc.stdout.readline())
            visible, writer_s, apply_s = [], [], []
            for u in range(args.updates):
                marker = f"benchmarker{size}x{u}"
                art = synthetic(rnd, titles, paras, n_articles)
                n_articles += 1
                art.paragraphs[0] = f"{marker} {art.paragraphs[0]}"
                t0, t = time.time(), time.perf_counter()
                proc.stdin.write(json.dumps({"op": "wait", "marker": marker}) + "\n")
                proc.stdin.flush()
                ingest(store, [art])
                writer_s.append(time.perf_counter() - t)
                got = json.loads(proc.stdout.readline())
                visible.append(got["visible_at"] - t0)
                apply_s.append(got["apply_s"])
            proc.stdin.write(json.dumps({"op": "search"}) + "\n")
            proc.stdin.flush()
            srch = json.loads(proc.stdout.readline())
            proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            proc.stdin.flush()
            proc.wait()
            snap_bytes = sum(f.stat().st_size for f in store.snapshot_dir.rglob("*") if f.is_file())
            row = {
                "passages": store.snapshot().n_alive, "mode": args.mode,
                "bulk_passages_per_s": round(added / max(1e-9, bulk_s - embed_s), 1),
                "update_visible_s": round(statistics.median(visible), 3),
                "writer_update_s": round(statistics.median(writer_s), 3),
                "reader_apply_s": round(statistics.median(apply_s), 3),
                "open_s": round(opened["open_s"], 2), "first_open_s": first["open_s"] and round(first["open_s"], 2),
                "reader_rss_mb": round(srch["rss_mb"], 1), "reader_open_rss_mb": round(opened["rss_mb"], 1),
                "writer_rss_mb": round(rss_mb(), 1), "snapshot_mb": round(snap_bytes / 1e6, 1),
                "search_p50_ms": round(srch["p50"], 1), "search_p95_ms": round(srch["p95"], 1),
            }
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                print("  ".join(f"{k} {v}" for k, v in row.items()), flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

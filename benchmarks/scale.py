"""Scale benchmark: grow a synthetic index (real Fars paragraphs recombined) and measure what an update
costs and what a worker needs at each size.

Usage: python benchmarks/scale.py [--sizes 10000,100000,1000000] [--mode server|embedded] [--json]
       [--updates 5] [--searches 50] [--keep DIR] [--first-open] [--embedded-worker] [--hnsw JSON]

Only Khabar's own bookkeeping is timed: the vectors come from a fast deterministic stand-in embedder
(hashed words → 384 dimensions), allowed here only. The index grows from one size to the next through
the store's own ingest, embedded, in batches of 4,096 passages (a child process, so the files are then
free for `chroma run --path` on them in server mode). At each size it reports:
  passages, bulk_passages_per_s (bulk ingest excluding the embedder), update_visible_s (one one-article
  ingest until a second, already open worker finds it: writer + log poll + reader apply),
  writer_update_s (with writer_parts_s: Chroma upsert, log commit, apply, snapshot save), reader_apply_s,
  open_s (a new worker opening the index from the data dir's saved snapshot), reader_rss_mb (that worker
  after opening and searching), snapshot_mb, search_p50_ms / search_p95_ms (hybrid search in the worker,
  in-process). Medians over --updates updates; the first update after (re)starting Chroma is reported
  apart (cold_*: Chroma loads its index files then).
With --mode server the index is served by a `chroma run` started here (up to KHABAR_EXACT_DENSE_MAX
passages the worker holds the vectors it searches exactly, read from the server once);
--embedded-worker also opens a worker on the same files embedded;
--first-open also times a worker with an empty data dir replaying the whole commit log.
"""
from __future__ import annotations

import argparse
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
import zlib
from pathlib import Path

import numpy as np
from _common import ROOT, SHARED, percentile

from index.embeddings import VectorEmbeddings
from index.models import Article

DIM = 384
QUESTIONS = ["قیمت نفت در بازار جهانی", "What did the ministry say about the budget?", "انتخابات مجلس شورای اسلامی",
             "وزیر امور خارجه در سفر به", "tehran football league match", "تیم ملی فوتبال ایران"]


class StandInEmbedder(VectorEmbeddings):
    """Deterministic hashed-word vectors: same text → same vector in every process, a few µs per text."""

    name = "bench:crc-words-384"

    def __init__(self) -> None:
        self._slots: dict[str, tuple[int, float]] = {}  # word → (dimension, sign); words repeat a lot

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        slots, flat, signs = self._slots, [], []
        for i, t in enumerate(texts):
            base = i * DIM
            for w in t.lower().split()[:48]:
                s = slots.get(w)
                if s is None:
                    h = zlib.crc32(w.encode())
                    s = slots[w] = (h % DIM, 1.0 if (h >> 16) & 1 else -1.0)
                flat.append(base + s[0])
                signs.append(s[1])
        v = np.bincount(np.array(flat, np.int64), weights=np.array(signs), minlength=len(texts) * DIM)
        v = v.reshape(len(texts), DIM).astype(np.float32)
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


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory in MB (VmRSS; RssAnon: its own heap; RssFile: mapped files, shared
    with other processes mapping them and reclaimable by the kernel)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
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
            print(json.dumps({"p50": statistics.median(times), "p95": percentile(times, 95), "rss_mb": rss_mb(),
                              "anon_mb": rss_mb("RssAnon"), "file_mb": rss_mb("RssFile")}), flush=True)
        elif cmd["op"] == "quit":
            return


# ---- bulk growth (a child process, embedded) ------------------------------------------------------------
def grow(data: str, size: int, first_article: int, hnsw: dict | None) -> None:
    """Grow the index in `data` to `size` passages through the store's own ingest, embedded (no HTTP
    round trips, large batches), then exit so Chroma's files are free for `chroma run`."""
    from index.chroma import SCHEMA, open_client
    from index.ingest import ingest
    from index.store import PassageStore

    titles, paras = fars_paragraphs()
    rnd = random.Random(11 * 1_000_003 + first_article)
    if hnsw:  # the collection created with these HNSW build parameters (the store opens it as it is)
        settings = settings_for(Path(data), None)
        open_client(settings).get_or_create_collection(
            settings.collection, embedding_function=None, configuration={"hnsw": {"space": "cosine", **hnsw}},
            metadata={"khabar_embedder": StandInEmbedder.name, "khabar_schema": SCHEMA})
    store = PassageStore(settings_for(Path(data), None), StandInEmbedder(), create=True)
    n, added, embed_s, t0 = first_article, 0, 0.0, time.perf_counter()
    while store.snapshot().n_alive < size:
        want, arts, count = size - store.snapshot().n_alive, [], 0
        while count < min(want, 50_000):
            arts.append(synthetic(rnd, titles, paras, n))
            count += len(arts[-1].paragraphs)
            n += 1
        rep = ingest(store, arts, batch=4096)
        embed_s += rep.embed_seconds
        added += rep.passages
        print(f"  … {store.snapshot().n_alive} passages ({time.perf_counter() - t0:.0f} s)", file=sys.stderr,
              flush=True)
    print(json.dumps({"n_articles": n, "added": added, "seconds": time.perf_counter() - t0, "embed_s": embed_s}),
          flush=True)


# ---- the writer (this process) ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_chroma(path: Path, port: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([str(Path(sys.executable).with_name("chroma")), "run", "--path", str(path), "--host",
                             "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    import httpx

    for _ in range(1500):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            return proc, f"http://127.0.0.1:{port}"
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise SystemExit("chroma run exited") from None
            time.sleep(0.2)
    raise SystemExit("chroma run did not start")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def timed(obj, names: tuple[str, ...]) -> dict[str, list[float]]:
    """Wrap methods of `obj` so each call adds its duration to the last entry of a per-name list."""
    out: dict[str, list[float]] = {n: [0.0] for n in names}

    def wrap(name, fn):
        def run(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                out[name][-1] += time.perf_counter() - t
        return run

    for n in names:
        setattr(obj, n, wrap(n, getattr(obj, n)))
    return out


class Worker:
    """The second process (`reader`), driven over stdin/stdout."""

    def __init__(self, data: Path, url: str | None, searches: int):
        cmd = [sys.executable, str(Path(__file__)), "--reader", str(data), "--searches", str(searches)]
        if url:
            cmd += ["--url", url]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.opened = self.read()

    def send(self, **cmd) -> None:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("the worker process died")
        return json.loads(line)

    def quit(self) -> None:
        self.send(op="quit")
        self.proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--mode", choices=["server", "embedded"], default="server")
    ap.add_argument("--updates", type=int, default=5)
    ap.add_argument("--searches", type=int, default=50)
    ap.add_argument("--json", action="store_true", help="one JSON object per size on stdout")
    ap.add_argument("--keep", help="work directory (kept) instead of a temp dir")
    ap.add_argument("--first-open", action="store_true",
                    help="also time a worker with an empty data dir replaying the whole log (first_open_s)")
    ap.add_argument("--embedded-worker", action="store_true",
                    help="server mode: also open a worker embedded on the same files (Chroma's vectors in its RSS)")
    ap.add_argument("--hnsw", help="HNSW build parameters of the benchmark collection, JSON (e.g. "
                    "'{\"ef_construction\": 32, \"max_neighbors\": 12}'); Chroma's defaults when absent")
    ap.add_argument("--reader", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--grow", help=argparse.SUPPRESS)
    ap.add_argument("--to", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--first-article", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reader:
        return reader(args.reader, args.url, args.searches)
    if args.grow:
        return grow(args.grow, args.to, args.first_article, json.loads(args.hnsw) if args.hnsw else None)

    from index.ingest import ingest
    from index.store import PassageStore

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="khabar-scale-"))
    data = work / "index"  # Chroma's files in data/chroma: embedded here, `chroma run --path` in server mode
    port = free_port()
    server: subprocess.Popen | None = None
    titles, paras = fars_paragraphs()
    rnd = random.Random(11)
    n_articles = 0
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            stop(server)
            server = None
            # bulk growth to `size` passages: the store's own ingest, embedded, in a child process
            got = subprocess.run([sys.executable, str(Path(__file__)), "--grow", str(data), "--to", str(size),
                                  "--first-article", str(n_articles)] + (["--hnsw", args.hnsw] if args.hnsw else []),
                                 cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
            bulk = json.loads(got.stdout.strip().splitlines()[-1])
            n_articles = bulk["n_articles"]
            url = None
            if args.mode == "server":
                t = time.perf_counter()
                server, url = start_chroma(data / "chroma", port)
                server_start_s = time.perf_counter() - t
                # the snapshot saved while growing is the same index: the server-mode store uses it
                embedded_dir = data / "snapshot-khabar"
                link = data / f"snapshot-127.0.0.1-{port}-khabar"
                if not link.exists():
                    link.symlink_to(embedded_dir.name)
            t = time.perf_counter()
            store = PassageStore(settings_for(data, url), StandInEmbedder())
            writer_open_s = time.perf_counter() - t
            parts = timed(store, ("upsert", "commit_articles", "refresh", "_save"))
            for v in parts.values():
                v.clear()
            first_open = None
            if args.first_open and url:
                fresh = work / f"fresh-{size}"
                w = Worker(fresh, url, args.searches)
                first_open = w.opened["open_s"]
                w.quit()
                shutil.rmtree(fresh, ignore_errors=True)
            # a worker opens the index (sharing the data dir's saved snapshot); one-article updates are
            # timed end to end
            w = Worker(data, url, args.searches)
            visible, writer_s, apply_s, cold = [], [], [], {}
            for u in range(args.updates + 1):  # the first one after (re)starting Chroma is reported apart
                marker = f"benchmarker{size}x{u}"
                art = synthetic(rnd, titles, paras, 10_000_000 + n_articles)
                n_articles += 1
                art.paragraphs[0] = f"{marker} {art.paragraphs[0]}"
                t0, t = time.time(), time.perf_counter()
                w.send(op="wait", marker=marker)
                for v in parts.values():
                    v.append(0.0)
                ingest(store, [art])
                writer_s.append(time.perf_counter() - t)
                got = w.read()
                if u == 0:
                    cold = {"cold_update_visible_s": round(got["visible_at"] - t0, 3),
                            "cold_writer_update_s": round(writer_s.pop(), 3)}
                    for v in parts.values():
                        v.pop()
                    continue
                visible.append(got["visible_at"] - t0)
                apply_s.append(got["apply_s"])
            w.send(op="search")
            srch = w.read()
            w.quit()
            snap_dir = data / "snapshot-khabar"
            snap_bytes = sum(f.stat().st_size for f in snap_dir.rglob("*") if f.is_file())
            row = {
                "passages": store.snapshot().n_alive, "mode": args.mode,
                "bulk_passages_per_s": round(bulk["added"] / max(1e-9, bulk["seconds"] - bulk["embed_s"]), 1),
                "bulk_s": round(bulk["seconds"], 1),
                "update_visible_s": round(statistics.median(visible), 3),
                "writer_update_s": round(statistics.median(writer_s), 3),
                "reader_apply_s": round(statistics.median(apply_s), 3),
                "open_s": round(w.opened["open_s"], 2), "first_open_s": first_open and round(first_open, 2),
                "writer_open_s": round(writer_open_s, 2),
                "reader_rss_mb": round(srch["rss_mb"], 1), "reader_open_rss_mb": round(w.opened["rss_mb"], 1),
                "reader_rss_anon_mb": round(srch["anon_mb"], 1), "reader_rss_file_mb": round(srch["file_mb"], 1),
                "writer_rss_mb": round(rss_mb(), 1), "snapshot_mb": round(snap_bytes / 1e6, 1),
                "search_p50_ms": round(srch["p50"], 1), "search_p95_ms": round(srch["p95"], 1),
                "writer_parts_s": {k: round(statistics.median(v), 3) for k, v in parts.items()},
                "updates_visible_s": [round(v, 3) for v in visible], "writer_updates_s": [round(v, 3) for v in writer_s],
            }
            row.update(cold)
            if url:
                row["server_start_s"] = round(server_start_s, 1)
            del store
            if args.embedded_worker and url:  # the same files opened embedded by a worker
                stop(server)
                server = None
                w = Worker(data, None, args.searches)
                w.send(op="search")
                srch = w.read()
                w.quit()
                row.update(embedded_open_s=round(w.opened["open_s"], 2), embedded_rss_mb=round(srch["rss_mb"], 1),
                           embedded_rss_anon_mb=round(srch["anon_mb"], 1),
                           embedded_search_p50_ms=round(srch["p50"], 1), embedded_search_p95_ms=round(srch["p95"], 1))
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                print("  ".join(f"{k} {v}" for k, v in row.items()), flush=True)
    finally:
        stop(server)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

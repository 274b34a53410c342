"""Web load: concurrent clients × questions against `khabar serve` on 127.0.0.1, in one or more setups.

Usage: python benchmarks/web_load.py --data-dir DIR [--clients 50] [--questions 20] [--repeats 3]
                                     [--setup single] [--setup cluster] ...
Setups (default: single and cluster):
  single        one worker on the embedded index in DIR, in-process state (no Redis)
  single-chroma one worker on a Chroma server over DIR, in-process state
  single-redis  one worker on a Chroma server over DIR, state in Redis
  cluster       two workers on one Chroma server over DIR (`chroma run`), state in one Redis
Every client keeps a conversation (conversation_id), so each request reads and writes its history,
and in the cluster its requests alternate between the two workers; the rate limit is on but high, so
it is checked (in Redis where there is one) without refusing anything. The script starts and stops
every server itself and reports errors, p50/p95 latency and throughput per setup (the median run of
`--repeats`, by throughput; setups alternate between repeats so drift in machine load spreads evenly).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import ROOT, percentile, summary

from tests.localhttp import free_port, wait_http  # the same helpers the tests start servers with

QUESTIONS = [
    "What is Russia seeking in Tartus?", "روسیه در طرطوس به دنبال چیست؟",
    "Why were schools closed in Tehran?", "چرا مدارس رشت تعطیل شدند؟",
    "When does the Zayandeh Rud water reach Khaju Bridge?", "What happened to the Caspian sturgeon?",
    "قطار پرند چند دقیقه طول می‌کشد؟", "Which airport is Russia withdrawing its forces from?",
    "پسکوف درباره استرداد بشار اسد چه گفت؟", "Who won the football match?",
]


class Servers:
    """The processes of one setup; stopped together."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="khabar-load-"))

    def spawn(self, args: list[str], env: dict | None = None) -> subprocess.Popen:
        p = subprocess.Popen(args, cwd=ROOT, env=env or os.environ.copy(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def redis(self) -> str:
        port = free_port()
        self.spawn([shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no"])
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return f"redis://127.0.0.1:{port}/0"
            except OSError:
                time.sleep(0.1)
        raise SystemExit("redis-server did not start")

    def chroma(self, data_dir: str) -> str:
        port = free_port()
        chroma = Path(sys.executable).with_name("chroma")
        self.spawn([str(chroma), "run", "--path", str(Path(data_dir) / "chroma"), "--host", "127.0.0.1",
                    "--port", str(port)], {**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/api/v2/heartbeat", timeout=300)
        return url

    def worker(self, env: dict) -> str:
        port = free_port()
        self.spawn([sys.executable, "-m", "bot", "serve", "--port", str(port)], {**os.environ, **env})
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_setup(name: str, data_dir: str, servers: Servers) -> list[str]:
    """Start the servers of a setup; returns the worker URLs."""
    base = {"KHABAR_RATE_LIMIT_PER_MINUTE": "1000000"}
    if name == "single":
        return [servers.worker({**base, "KHABAR_DATA_DIR": data_dir})]
    chroma = servers.chroma(data_dir)
    shared = {**base, "KHABAR_CHROMA_URL": chroma}
    if name != "single-chroma":
        shared["KHABAR_REDIS_URL"] = servers.redis()
    n = 2 if name == "cluster" else 1
    return [servers.worker({**shared, "KHABAR_DATA_DIR": str(servers.tmp / f"w{i}")}) for i in range(n)]


async def client(urls: list[str], n: int, c: int, lat: list[float], errors: list[str]) -> None:
    async with httpx.AsyncClient(timeout=120) as http:
        for i in range(n):
            q = QUESTIONS[(c + i) % len(QUESTIONS)]
            url = urls[(c + i) % len(urls)]  # a conversation's turns alternate between workers
            t = time.perf_counter()
            try:
                r = await http.post(url + "/api/ask", json={"question": q, "conversation_id": f"load-{c}"})
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:80]}")
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
            lat.append((time.perf_counter() - t) * 1000)


async def load(urls: list[str], clients: int, questions: int) -> tuple[list[float], list[str], float]:
    lat: list[float] = []
    errors: list[str] = []
    t = time.perf_counter()
    await asyncio.gather(*(client(urls, questions, c, lat, errors) for c in range(clients)))
    return lat, errors, time.perf_counter() - t


def run_setup(name: str, args) -> dict:
    servers = Servers()
    try:
        urls = start_setup(name, args.data_dir, servers)
        for url in urls:
            wait_http(url + "/api/health", timeout=300)
            for q in QUESTIONS[:3]:  # warm: model, index caches, Redis scripts
                httpx.post(url + "/api/ask", json={"question": q, "conversation_id": "warm"}, timeout=120)
        state = httpx.get(urls[0] + "/api/health").json().get("state", "?")
        lat, errors, wall = asyncio.run(load(urls, args.clients, args.questions))
    finally:
        servers.stop()
    print(f"{name}: {summary(lat)}", flush=True)
    return {"setup": name, "workers": len(urls), "state": state, "requests": len(lat), "errors": len(errors),
            "wall_s": round(wall, 1), "throughput_rps": round(len(lat) / wall, 1),
            "p50_ms": round(percentile(lat, 50), 1), "p95_ms": round(percentile(lat, 95), 1),
            "first_errors": errors[:3]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True, help="an index built with `khabar index add`")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--setup", action="append", choices=["single", "single-chroma", "single-redis", "cluster"])
    args = ap.parse_args()
    setups = args.setup or ["single", "cluster"]
    runs: dict[str, list[dict]] = {name: [] for name in setups}
    for _ in range(args.repeats):
        for name in setups:
            runs[name].append(run_setup(name, args))
    results = []
    for name in setups:
        ordered = sorted(runs[name], key=lambda r: r["throughput_rps"])
        median = dict(ordered[len(ordered) // 2])
        median["all_rps"] = [r["throughput_rps"] for r in runs[name]]
        median["all_p95_ms"] = [r["p95_ms"] for r in runs[name]]
        results.append(median)
    print(f"\n{'setup':<14}{'workers':>8}{'state':>8}{'errors':>8}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}")
    for r in results:
        print(f"{r['setup']:<14}{r['workers']:>8}{r['state']:>8}{r['errors']:>8}{r['throughput_rps']:>8}"
              f"{r['p50_ms']:>9}{r['p95_ms']:>9}")
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

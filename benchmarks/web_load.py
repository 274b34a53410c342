"""Web load: 50 concurrent clients × 20 questions against `khabar serve` on 127.0.0.1.

Usage: python benchmarks/web_load.py --data-dir DIR [--clients 50] [--questions 20]
Starts the server itself (rate limit off), reports errors and p50/p95 latency, then stops it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import httpx
from _common import ROOT, summary

QUESTIONS = [
    "What is Russia seeking in Tartus?", "روسیه در طرطوس به دنبال چیست؟",
    "Why were schools closed in Tehran?", "چرا مدارس رشت تعطیل شدند؟",
    "When does the Zayandeh Rud water reach Khaju Bridge?", "What happened to the Caspian sturgeon?",
    "قطار پرند چند دقیقه طول می‌کشد؟", "Which airport is Russia withdrawing its forces from?",
    "پسکوف درباره استرداد بشار اسد چه گفت؟", "Who won the football match?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def client(base: str, n: int, offset: int, lat: list[float], errors: list[str]) -> None:
    async with httpx.AsyncClient(timeout=120) as http:
        for i in range(n):
            q = QUESTIONS[(offset + i) % len(QUESTIONS)]
            t = time.perf_counter()
            try:
                r = await http.post(base + "/api/ask", json={"question": q})
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:80]}")
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
            lat.append((time.perf_counter() - t) * 1000)


async def run(base: str, clients: int, questions: int) -> tuple[list[float], list[str], float]:
    lat: list[float] = []
    errors: list[str] = []
    t = time.perf_counter()
    await asyncio.gather(*(client(base, questions, c, lat, errors) for c in range(clients)))
    return lat, errors, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--questions", type=int, default=20)
    args = ap.parse_args()
    port = free_port()
    env = {**os.environ, "KHABAR_DATA_DIR": args.data_dir, "KHABAR_RATE_LIMIT_PER_MINUTE": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        httpx.post(base + "/api/ask", json={"question": QUESTIONS[0]}, timeout=60)  # warm
        lat, errors, wall = asyncio.run(run(base, args.clients, args.questions))
    finally:
        proc.terminate()
        proc.wait(20)
    print(summary(lat))
    print(json.dumps({"requests": len(lat), "errors": len(errors), "wall_s": round(wall, 1),
                      "throughput_rps": round(len(lat) / wall, 1), "first_errors": errors[:3]}, indent=2))


if __name__ == "__main__":
    main()

"""Helpers shared by the benchmark scripts: paths, environment, summaries."""
from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KHABAR_SHARED", ROOT.parent / "shared"))
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0–100) by nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))]


def summary(values: list[float]) -> str:
    """p50 / p95 / max in milliseconds."""
    return (f"p50 {statistics.median(values):.1f} ms · p95 {percentile(values, 95):.1f} ms · "
            f"max {max(values):.1f} ms (n={len(values)})")

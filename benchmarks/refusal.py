"""Calibrate refusal: answerable dev questions should be answered, off-topic ones refused.

Usage: python benchmarks/refusal.py --data-dir DIR [--split tune|held-out|all] [--limit N] [--fit]
Prints, per language and half, the share of answerable questions answered and of off-topic ones
refused, at the thresholds in bot/core/relevance.py, with the signal distributions to choose them from.
Tuning data: the tuning halves of seed_dev, our xling_dev, fars_qa_dev, the first N fars_titles_dev and
benchmarks/offtopic.jsonl, plus all of our fars_qa_tune.jsonl and offtopic_tune.jsonl. Held out: the
other halves, plus all of our fars_qa_fresh.jsonl (questions no rule was built on). `--fit` fits the
English weighted sum of bot/core/relevance.py (EN_WEIGHTS, EN_BIAS) on the tuning data and prints it.
"""
from __future__ import annotations

import argparse
import json

import numpy as np
from _common import ROOT, SHARED

from bot.core.evaluation import EvalItem, load_eval_set, split_half
from bot.core.qa import EN_DENSE_WITH_WORDS, EN_IDF_COVERAGE, QA
from bot.settings import Settings

FEATURES = ("dense", "dense_long", "names", "counterpart_names", "lead", "idf_coverage", "sparse")
ANSWERED_SHARE = 0.96  # the fitted rule's threshold: this share of the tuning answerable questions answered


def _dist(values: list[float]) -> str:
    v = sorted(round(x, 3) for x in values)
    return f"{v[0]}/{v[len(v) // 10]}/{v[len(v) // 2]}/{v[-1]}"


def _offtopic(path) -> list[EvalItem]:
    return [EvalItem(id=r["id"], lang=r["lang"], question=r["question"], gold_sources=[], evidence=[])
            for r in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if r]


def question_sets(half: str, limit: int) -> tuple[list[EvalItem], list[EvalItem]]:
    """(answerable, off-topic) questions of one half ('tune', 'held-out' or 'all')."""
    ev, ours, refs = SHARED / "eval", ROOT / "benchmarks", SHARED / "eval" / "fars_titles_dev.jsonl"
    answerable = load_eval_set(ev / "seed_dev.jsonl") + load_eval_set(ours / "xling_dev.jsonl", refs) + \
        load_eval_set(ev / "fars_qa_dev.jsonl") + load_eval_set(refs)[:limit]
    off = _offtopic(ours / "offtopic.jsonl")
    answerable, off = split_half(answerable, half), split_half(off, half)
    if half in ("tune", "all"):
        answerable += load_eval_set(ours / "fars_qa_tune.jsonl", refs)
        off += _offtopic(ours / "offtopic_tune.jsonl")
    if half in ("held-out", "all"):
        answerable += load_eval_set(ours / "fars_qa_fresh.jsonl", refs)
    return answerable, off


def fit(rows: list[tuple[str, str, dict, bool]]) -> tuple[dict[str, float], float]:
    """Logistic regression (L2, standardized features) on the English rows the keyword rule leaves
    to it; the threshold puts ANSWERED_SHARE of their answerable ones above it. Returns raw-scale
    weights and the bias."""
    # run on an index of Persian news (seed + Fars): an English question whose best passage is English is
    # decided by the same-language rule (EN_SAME_*), not this sum, so fit on such an index only.
    # the English-news rule (the question's own keywords in the top passages) admits before the sum
    # is read: fit the sum, and set its threshold, on the questions it leaves to the sum
    en = [r for r in rows if r[1] == "en" and not (r[2]["dense"] >= EN_DENSE_WITH_WORDS
                                                   and r[2]["idf_coverage"] >= EN_IDF_COVERAGE)]
    x = np.array([[r[2][f] for f in FEATURES] for r in en], dtype=np.float64)
    y = np.array([r[0] == "answerable" for r in en], dtype=np.float64)
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = (x - mu) / sd
    w, b = np.zeros(len(FEATURES)), 0.0
    for _ in range(4000):
        g = 1 / (1 + np.exp(-(z @ w + b))) - y
        w -= 0.1 * (z.T @ g / len(y) + w / len(y))
        b -= 0.1 * float(g.mean())
    scores = z @ w + b
    threshold = float(np.quantile(scores[y == 1], 1 - ANSWERED_SHARE)) - 1e-6
    raw = w / sd
    return {f: round(float(v), 4) for f, v in zip(FEATURES, raw, strict=True)}, \
        round(float(b - (raw * mu).sum() - threshold), 4)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--split", default="all", choices=["tune", "held-out", "all"])
    ap.add_argument("--limit", type=int, default=150)
    ap.add_argument("--fit", action="store_true", help="fit EN_WEIGHTS / EN_BIAS on the tuning data")
    args = ap.parse_args()
    qa = QA(Settings(data_dir=args.data_dir))
    answerable, off = question_sets("tune" if args.fit else args.split, args.limit)
    rows = []
    for kind, items in (("answerable", answerable), ("offtopic", off)):
        for item in items:
            r = qa.retrieve(item.question)
            rows.append((kind, item.lang, qa.relevance(r, item.question), qa.is_relevant(r, item.question)))
    if args.fit:
        weights, bias = fit(rows)
        print(f"EN_WEIGHTS = {weights!r}\nEN_BIAS = {bias!r}")
        return
    report = {}
    for kind in ("answerable", "offtopic"):
        for lang in ("en", "fa"):
            sel = [x for x in rows if x[0] == kind and x[1] == lang]
            if not sel:
                continue
            ok = sum(x[3] for x in sel) if kind == "answerable" else sum(not x[3] for x in sel)
            rate = ok / len(sel)
            report[f"{kind} {lang} {'answered' if kind == 'answerable' else 'refused'}"] = round(rate, 3)
            print(f"{kind:10} {lang}: n={len(sel):4} {'answered' if kind == 'answerable' else 'refused'}={rate:.3f}")
            for signal in sel[0][2]:
                print(f"{'':16}{signal:>10} min/p10/median/max = {_dist([x[2][signal] for x in sel])}")
    print(json.dumps({"split": args.split, **report}))


if __name__ == "__main__":
    main()

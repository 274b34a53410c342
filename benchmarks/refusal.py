"""Calibrate refusal: answerable dev questions should be answered, off-topic ones refused.

Usage: python benchmarks/refusal.py --data-dir DIR [--split tune|held-out|all] [--limit N]
Prints, per language and half, the share of answerable questions answered (seed_dev, our xling_dev,
fars_qa_dev, the first N fars_titles_dev) and of off-topic ones refused (benchmarks/offtopic.jsonl), at
the thresholds in bot/core/qa.py, with the signal distributions to choose them from. Tune on the tuning
half; report the held-out half.
"""
from __future__ import annotations

import argparse
import json

from _common import ROOT, SHARED

from bot.core.evaluation import EvalItem, load_eval_set, split_half
from bot.core.qa import QA
from bot.settings import Settings


def _dist(values: list[float]) -> str:
    v = sorted(round(x, 3) for x in values)
    return f"{v[0]}/{v[len(v) // 10]}/{v[len(v) // 2]}/{v[-1]}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--split", default="all", choices=["tune", "held-out", "all"])
    ap.add_argument("--limit", type=int, default=150)
    args = ap.parse_args()
    qa = QA(Settings(data_dir=args.data_dir))
    ev = SHARED / "eval"
    answerable = load_eval_set(ev / "seed_dev.jsonl") + load_eval_set(
        ROOT / "benchmarks" / "xling_dev.jsonl", ev / "fars_titles_dev.jsonl") + load_eval_set(
        ev / "fars_qa_dev.jsonl") + load_eval_set(ev / "fars_titles_dev.jsonl")[: args.limit]
    off = [EvalItem(id=r["id"], lang=r["lang"], question=r["question"], gold_sources=[], evidence=[])
           for r in map(json.loads, (ROOT / "benchmarks" / "offtopic.jsonl").read_text().splitlines()) if r]
    rows = []
    for kind, items in (("answerable", answerable), ("offtopic", off)):
        for item in split_half(items, args.split):
            r = qa.retrieve(item.question)
            rows.append((kind, item.lang, qa.relevance(r, item.question), qa.is_relevant(r, item.question)))
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

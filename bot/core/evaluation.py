"""Retrieval evaluation on the dev sets (hit@1, hit@5, MRR per language), as ../shared/README.md defines hits."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.qa import QA

import hashlib
import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote

from bot.core.retrieval import HybridSearcher, SearchOptions
from index.errors import LoadError
from index.models import StoredPassage
from index.normalizer import compact
from index.text import split_sentences

CEILING = 50


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

    Our sets copy no text or URL of the shared data: `gold_ref` names a fars_titles_dev id whose
    gold URL is read from `refs`, and `evidence_ref` ([[paragraph, start, end], ...]) points into that
    article's `paragraphs` in the Fars News JSON files of ../shared (found beside `refs`).
    """
    ref_urls: dict[str, str] = {}
    if refs and Path(refs).exists():
        for line in Path(refs).read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                ref_urls[rec["id"]] = rec.get("gold_url", "")
    corpus = Path(refs).parent.parent / "corpora" / "fars-news" if refs else None
    paragraphs: dict[str, list[str]] | None = None
    items = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LoadError(str(path), f"invalid JSON: {exc.msg}", lineno) from exc
            _check_row(rec, path, lineno)
            gold = rec.get("gold_source") or rec.get("gold_url") or ref_urls.get(rec.get("gold_ref", ""), "")
            if rec.get("gold_ref") and not gold:
                raise LoadError(str(path), f"gold_ref {rec['gold_ref']!r} is not in {refs or 'the refs file'} "
                                           "(is the shared data beside it? khabar eval --shared DIR)", lineno)
            evidence = rec.get("evidence") or []
            if rec.get("evidence_ref"):
                if paragraphs is None:
                    paragraphs = _article_paragraphs(corpus)
                evidence = _resolve_evidence(paragraphs.get(gold, []), rec["evidence_ref"], path, lineno)
            items.append(EvalItem(
                id=str(rec.get("id", lineno)), lang=rec.get("lang", "fa"), question=rec["question"],
                gold_sources=[g for g in gold.split("|") if g], evidence=evidence,
                gold_context=rec.get("gold_context", ""), answer=rec.get("answer", "")))
    return items


TEXT_FIELDS = ("id", "lang", "question", "gold_source", "gold_url", "gold_ref", "gold_context", "answer")


def _check_row(rec: object, path: str | Path, lineno: int) -> None:
    """A LoadError naming the line unless `rec` is an object with a question and fields of the right types (a
    string, or a list of strings for `evidence`)."""
    if not isinstance(rec, dict) or not isinstance(rec.get("question"), str):
        raise LoadError(str(path), 'each line must be a JSON object with a "question" string', lineno)
    wrong = [f for f in TEXT_FIELDS if f in rec and not isinstance(rec[f], str | int if f == "id" else str)]
    evidence = rec.get("evidence")
    if evidence is not None and not (isinstance(evidence, list) and all(isinstance(e, str) for e in evidence)):
        wrong.append("evidence")
    if wrong:
        raise LoadError(str(path), f"wrong type of {', '.join(wrong)} (text expected; evidence: a list of texts)",
                        lineno)


def _article_paragraphs(corpus: str | Path | None) -> dict[str, list[str]]:
    """Article link → its paragraphs, from the Fars News JSON files in `corpus`."""
    out: dict[str, list[str]] = {}
    for f in sorted(Path(corpus).glob("*.json")) if corpus else []:
        for art in json.loads(f.read_text(encoding="utf-8")):
            out.setdefault(art.get("link", ""), art.get("paragraphs") or [])
    return out


def _resolve_evidence(paragraphs: list[str], refs: list, path: str | Path, lineno: int) -> list[str]:
    """The evidence strings an `evidence_ref` points at (a bad reference is a LoadError naming the line)."""
    out = []
    for ref in refs:
        try:
            i, start, end = (int(x) for x in ref)
            if min(i, start, end) < 0:
                raise IndexError(i)
            text = paragraphs[i][start:end]
        except (ValueError, TypeError, IndexError) as exc:
            raise LoadError(str(path), f"evidence_ref {ref!r} points nowhere (is the shared corpus beside it?)",
                            lineno) from exc
        if not text.strip():
            raise LoadError(str(path), f"evidence_ref {ref!r} is empty", lineno)
        out.append(text)
    return out


def is_hit(item: EvalItem, meta: StoredPassage, text: str) -> bool:
    """True when a passage counts as a hit for `item` (rules of ../shared/README.md)."""
    if item.gold_context:
        p, g = compact(text), compact(item.gold_context)
        if p in g or g in p:
            return True
        ans = compact(item.answer)
        return bool(ans) and ans in p and ans in g and _shares_sentence(text, item.gold_context, ans)
    url = unquote(meta.url)
    name = os.path.basename(meta.source)
    if item.gold_sources and not any(url.startswith(unquote(g)) or name == g for g in item.gold_sources):
        return False
    if not item.evidence:
        return True
    body = compact(text)
    return any(compact(e) in body for e in item.evidence)


def _shares_sentence(a: str, b: str, ans: str) -> bool:

    sa = {compact(a[s:e]) for s, e in split_sentences(a)}
    return any(compact(b[s:e]) in sa and ans in compact(b[s:e]) for s, e in split_sentences(b))


def split_half(items: list[EvalItem], half: str) -> list[EvalItem]:
    """The fixed tuning or held-out half of a dev set, by id: ids ending in an odd number (or, for
    ids without one, an odd first byte of their SHA-1) tune; the rest are held out. 'all' keeps all."""
    if half == "all":
        return items

    def odd(item: EvalItem) -> bool:
        m = re.search(r"(\d+)\s*$", item.id)
        return bool(int(m.group(1)) % 2) if m else bool(hashlib.sha1(item.id.encode()).digest()[0] % 2)

    return [i for i in items if odd(i) == (half == "tune")]


def _gold_article(item: EvalItem, meta: StoredPassage) -> bool:
    if item.gold_context:
        return True  # PersianQA has no article-level gold; the paragraph decides
    url = unquote(meta.url)
    name = os.path.basename(meta.source)
    return not item.gold_sources or any(url.startswith(unquote(g)) or name == g for g in item.gold_sources)


def evaluate(searcher: HybridSearcher, items: list[EvalItem], opts: SearchOptions,
             ceiling: int = CEILING) -> dict:
    """Per language and overall: paragraph hit@1/hit@k/MRR, article hit@1/hit@k, and the paragraph
    hit@`ceiling` of the uncapped candidate list (what any re-ranking could reach at best)."""
    per: dict[str, list[tuple[int | None, int | None, bool]]] = defaultdict(list)
    deep = replace(opts, k=ceiling, per_article=ceiling)
    for item in items:
        res = searcher.search(item.question, opts)
        snap = res.snap
        para = art = None
        for r, h in enumerate(res.hits):
            meta, text = snap.passage(h.pos), snap.text(h.pos)
            if art is None and _gold_article(item, meta):
                art = r
            if para is None and is_hit(item, meta, text):
                para = r
        found = para is not None
        if ceiling and not found:
            res = searcher.search(item.question, deep)
            found = any(is_hit(item, res.snap.passage(h.pos), res.snap.text(h.pos)) for h in res.hits)
        per[item.lang].append((para, art, found))
        per["all"].append((para, art, found))
    return {lang: _metrics(rows, opts.k, ceiling) for lang, rows in per.items()}


def _metrics(rows: list[tuple[int | None, int | None, bool]], k: int, ceiling: int) -> dict:
    n = len(rows) or 1
    paras = [p for p, _, _ in rows]
    arts = [a for _, a, _ in rows]
    out = {
        "n": len(rows),
        "hit@1": round(sum(r == 0 for r in paras) / n, 4),
        f"hit@{k}": round(sum(r is not None and r < k for r in paras) / n, 4),
        "mrr": round(sum(1.0 / (r + 1) for r in paras if r is not None) / n, 4),
        "article@1": round(sum(r == 0 for r in arts) / n, 4),
        f"article@{k}": round(sum(r is not None and r < k for r in arts) / n, 4),
    }
    if ceiling:
        out[f"hit@{ceiling}"] = round(sum(f for _, _, f in rows) / n, 4)
    return out


def evaluate_answers(qa: QA, items: list[EvalItem]) -> dict:
    """With an LLM configured: citation precision (cited sentences that survived the support check)
    and answer-language accuracy, plus how often the extractive fallback was used."""
    from bot.core.citations import split_claims, strip_markers
    from index.language import detect_language

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

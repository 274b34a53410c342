"""LLM answers with a real model: answered / refused / fallback rates, citation precision, attribution,
answer language and seconds per answer on the dev questions; and the retrieval gain of searching an
English question in the model's Persian rendering too.

Usage (any OpenAI-compatible server, e.g. llama.cpp's `python -m llama_cpp.server`):
  python benchmarks/llm_answers.py --data-dir FULL_INDEX --base-url http://127.0.0.1:8088/v1 \
      [--model local] [--en 30] [--fa 15] [--json out.json]
  python benchmarks/llm_answers.py --data-dir FULL_INDEX --base-url URL --translation [--en 100]
FULL_INDEX holds seed + Fars. Questions: seed_dev, then fars_qa_dev by id (English and Persian); with
--set benchmarks/fars_qa_fresh.jsonl, our fresh questions instead (never used to build any rule).
--half tune|held: only that half of fars_qa_dev (bot.core.evaluation.split_half). --probe-select also
asks the model, after each answer, which source holds the answer (rows: select_n, select_hit, hits).
The answer metrics count only questions whose answer retrieval found (a retrieved passage is a hit,
as ../shared/README.md defines it), since the model cannot be judged on passages it never saw.
"""
from __future__ import annotations

import argparse
import ast
import json
import logging
import re
import statistics
import time

from _common import SHARED, percentile
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage

from bot.core.chain import FALLBACK_NOTE, answer_prompt, build_chain, build_chat_model, format_sources
from bot.core.citations import split_claims, strip_markers
from bot.core.evaluation import EvalItem, is_hit, load_eval_set, split_half
from bot.core.qa import QA
from bot.core.retriever import result_from_documents
from bot.core.support import SupportCheck
from bot.settings import Settings
from index.embeddings import build_embedder
from index.language import detect_language
from index.models import StoredPassage
from index.store import PassageStore
from index.text import ascii_digits


def questions(n_en: int, n_fa: int, dev_set: str | None = None, half: str = "all") -> list[EvalItem]:
    """seed_dev, then the first `n_en` English and `n_fa` Persian fars_qa_dev questions (by id) of
    `half` (tune / held / all, `split_half`); with `dev_set` (one of our sets, e.g.
    benchmarks/fars_qa_fresh.jsonl) its questions instead, no seed."""
    ev = SHARED / "eval"
    fars = sorted(split_half(load_eval_set(dev_set or ev / "fars_qa_dev.jsonl", ev / "fars_titles_dev.jsonl"),
                             half), key=lambda i: i.id)
    en, fa = [i for i in fars if i.lang == "en"][:n_en], [i for i in fars if i.lang == "fa"][:n_fa]
    # interleaved in proportion, so a run cut short still covers both languages
    mixed = sorted(en, key=lambda i: en.index(i) / len(en)) if not fa else sorted(
        en + fa, key=lambda i: (en.index(i) / len(en)) if i.lang == "en" else (fa.index(i) / len(fa)))
    return mixed if dev_set or half != "all" else load_eval_set(ev / "seed_dev.jsonl") + mixed


def hit(item: EvalItem, c) -> bool:
    """Whether a Citation/Context is a hit for `item`."""
    return is_hit(item, StoredPassage(article_id=c.article_id, url=c.url or "", source=c.source), c.text)


def record_renderings(qa: QA) -> dict[str, list[str]]:
    """Keep the Persian renderings the model produced (question → renderings) as they are made."""
    seen: dict[str, list[str]] = {}
    produce = qa.chain.search_terms

    def recording(question: str) -> list[str]:
        seen[question] = produce(question)
        return seen[question]

    qa.chain.search_terms = recording
    return seen


def rank_of(item: EvalItem, result) -> int | None:
    snap = result.snap
    return next((r for r, h in enumerate(result.hits) if is_hit(item, snap.passage(h.pos), snap.text(h.pos))), None)


class Replies(logging.Handler):
    """Collects the model's raw replies (bot.core.chain logs them at DEBUG) for the --json rows."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())


def replies_of(row: dict) -> list[str]:
    """The model's raw answer replies recorded in a --json row (first answer, then any retry)."""
    out = []
    for line in row.get("model_log", []):
        if line.startswith("model reply"):
            out.append(ast.literal_eval(line.split(": ", 1)[1]))
    return out


SELECT = {"en": "Which one source holds the answer to the question? Reply with its number only, like [2].",
          "fa": "پاسخ پرسش در کدام یک از منابع است؟ فقط شماره آن را بنویس، مانند [2]."}


def probe_select(qa: QA, item: EvalItem, reply: str) -> dict:
    """Ask the model which source holds the answer, after its (rejected) reply, in the same
    conversation (the server reuses the cached prompt): a measurement, not a product step."""
    docs = qa.retriever().invoke(item.question)
    lang = detect_language(item.question)
    messages = answer_prompt(lang).invoke({"question": item.question, "sources": format_sources(docs),
                                           "history": []}).to_messages()
    out = build_chat_model(qa.settings).invoke(messages + [AIMessage(reply), HumanMessage(SELECT[lang])]).content
    m = re.search(r"(\d+)", ascii_digits(str(out)))
    n = int(m.group(1)) if m else None
    hits = [hit(item, c) for c in qa.contexts(result_from_documents(docs))]
    return {"select_reply": str(out)[:80], "select_n": n,
            "select_hit": bool(n and 1 <= n <= len(hits) and hits[n - 1]), "hits": hits}


def run_answers(qa: QA, items: list[EvalItem], replay: dict[str, dict] | None = None,
                save=None, probe: bool = False) -> dict:
    """Ask every question; with `replay` (id → row of an earlier --json run) the recorded model replies
    and renderings are fed back instead of asking the model, so changed checks can be re-measured
    on the same real-model output (timings are then the recorded ones); questions not recorded there
    (or that the model could not answer then) are asked live."""
    rows = []
    renderings = record_renderings(qa)
    replies = Replies()
    chain_log = logging.getLogger("bot.core.chain")
    chain_log.setLevel(logging.DEBUG)
    chain_log.addHandler(replies)
    for k, item in enumerate(items, 1):
        replies.texts.clear()
        old = replay.get(item.id) if replay is not None else None
        # not asked then, the model unreachable then, or refused before the model was asked: ask it now
        live = replay is not None and (old is None or old["note"] in FALLBACK_NOTE.values()
                                       or (old["refused"] and not old.get("model_log")))
        if replay is not None:
            if live:
                qa.chain = build_chain(qa.settings)
                renderings = record_renderings(qa)
            elif old is not None:
                qa.chain = build_chain(qa.settings, model=GenericFakeChatModel(messages=iter(
                    [AIMessage(r) for r in replies_of(old)])))
                kept = [x for x in old.get("rendering", []) if qa.chain.accept_rendering(x)]
                qa.chain.search_terms = lambda q, r=kept, rs=renderings: rs.setdefault(q, r)
        t = time.perf_counter()
        ans = qa.answer(item.question)
        secs = time.perf_counter() - t
        if old is not None and not live:
            secs = old["seconds"]
        found = any(hit(item, c) for c in ans.contexts)
        rank_with = next((r for r, c in enumerate(ans.contexts) if hit(item, c)), None)
        unexpanded = qa.retriever()
        unexpanded.expand = None
        rank_without = rank_of(item, unexpanded.search(item.question))
        cited = [(hit(item, c), c.attributed) for c in ans.citations]
        where = {(c.article_id, c.paragraph): i for i, c in reversed(list(enumerate(ans.contexts)))}
        cited_pos = [where.get((c.article_id, c.paragraph)) for c in ans.citations]  # 0 = retrieval's first
        # re-check every shown sentence against the passages it cites
        claims = split_claims(ans.answer.split("\n")[-1])
        by_n = {c.n: c.text for c in ans.citations}
        check = SupportCheck(qa.embedder, list(by_n.values()), [f"{c.title} {c.date or ''}" for c in ans.citations])
        unsupported = sum(1 for c in claims if not c.sources or not check.supported(
            c.text, [by_n[n] for n in c.sources if n in by_n])) if not ans.refused else 0
        plain = strip_markers(ans.answer)
        rows.append({"id": item.id, "lang": item.lang, "found": found, "refused": ans.refused,
                     "mode": ans.mode, "note": ans.note, "citations": cited, "cited_pos": cited_pos,
                     "scores": [c.score for c in ans.contexts], "sentences": len(claims),
                     "unsupported": unsupported, "language_ok": ans.refused or detect_language(plain) == item.lang,
                     "seconds": round(secs, 2), "answer": ans.answer, "rank": rank_with,
                     "rank_without_rendering": rank_without, "rendering": renderings.get(item.question, []),
                     "model_log": list(replies.texts), "replayed": replay is not None and not live})
        if probe and found and not ans.refused and (replay is None or live):
            if raw := replies_of(rows[-1]):
                rows[-1].update(probe_select(qa, item, raw[-1]))
        state = "refused" if ans.refused else ("llm" if ans.mode == "llm" else "fallback")
        if save:
            save(finish(rows))
        print(f"[{k}/{len(items)}] {item.id} {item.lang} found={found} {state} "
              f"cites={len(cited)} hits={sum(h for h, _ in cited)} {secs:.1f}s :: {ans.answer[:110]!r}", flush=True)
    return finish(rows)


def finish(rows: list[dict]) -> dict:
    """Rows plus their summaries (questions whose evidence retrieval found, and all)."""
    en = [r for r in rows if r["lang"] == "en"]
    gain = {label: {"n": len(en), "hit@1": round(sum(r[key] == 0 for r in en) / (len(en) or 1), 3),
                    "hit@5": round(sum(r[key] is not None for r in en) / (len(en) or 1), 3)}
            for label, key in (("original", "rank_without_rendering"), ("with_persian", "rank"))}
    return {"rows": rows, "summary": summarize([r for r in rows if r["found"]]),
            "summary_all": summarize(rows), "english_retrieval": gain}


def summarize(rows: list[dict]) -> dict:
    n = len(rows) or 1
    cites = [c for r in rows for c in r["citations"]]
    answered = [r for r in rows if not r["refused"]]
    secs = [r["seconds"] for r in rows] or [0.0]
    by_model = [r for r in rows if r["mode"] == "llm" and not r["refused"]]
    out = {
        "n": len(rows),
        "answered": round(len(answered) / n, 3),
        "answered_by_model": round(sum(r["mode"] == "llm" and not r["refused"] for r in rows) / n, 3),
        "extractive_fallback": round(sum(r["mode"] != "llm" and not r["refused"] for r in rows) / n, 3),
        "refused": round(sum(r["refused"] for r in rows) / n, 3),
        "citation_precision": round(sum(h for h, _ in cites) / len(cites), 3) if cites else None,
        "answers_citing_gold": round(sum(any(h for h, _ in r["citations"]) for r in answered) / (len(answered) or 1), 3),
        "citations_model": sum(not a for _, a in cites),
        "citations_attributed": sum(a for _, a in cites),
        "shown_sentences": sum(r["sentences"] for r in answered),
        "unsupported_shown_sentences": sum(r["unsupported"] for r in rows),
        # the model's own answers; quoted fallbacks are in their sources' language (with a framing
        # sentence in the question's), so they are counted apart
        "language_right": round(sum(r["language_ok"] for r in by_model) / len(by_model), 3) if by_model else None,
        "language_right_incl_quotes": round(sum(r["language_ok"] for r in rows) / n, 3),
        "replayed_replies": sum(bool(r.get("replayed")) for r in rows),
        "seconds_median": round(statistics.median(secs), 2),
        "seconds_p90": round(percentile(secs, 90), 2),
    }
    for lang in ("en", "fa"):
        sub = [r for r in rows if r["lang"] == lang]
        if sub and len(sub) != len(rows):
            out[lang] = {k: v for k, v in summarize(sub).items() if k in ("n", "answered", "refused",
                                                                         "citation_precision", "language_right")}
    return out


def run_translation(qa: QA, items: list[EvalItem], cached: dict[str, list[str]] | None = None,
                    alt_weight: float | None = None) -> dict:
    """Paragraph hit@1 / hit@5 of English questions with and without the Persian rendering
    (`cached`: question → renderings from an earlier run's --json, instead of asking the model)."""
    if cached is not None:
        qa.chain.search_terms = lambda q: cached.get(q, [])
    ranks: dict[str, list] = {"original": [], "with_persian": []}
    secs = []
    for k, item in enumerate(items, 1):
        for label, retriever in (("original", qa.retriever()), ("with_persian", qa.retriever())):
            if label == "original":
                retriever.expand = None
            elif alt_weight is not None:
                retriever.options.alt_weight = alt_weight
            t = time.perf_counter()
            res = retriever.search(item.question)
            if label == "with_persian":
                secs.append(time.perf_counter() - t)
            rank = rank_of(item, res)
            ranks[label].append(rank)
        print(f"[{k}/{len(items)}] {item.id} original={ranks['original'][-1]} "
              f"with_persian={ranks['with_persian'][-1]}", flush=True)
    n = len(items) or 1
    return {label: {"n": len(r), "hit@1": round(sum(x == 0 for x in r) / n, 3),
                    "hit@5": round(sum(x is not None for x in r) / n, 3)} for label, r in ranks.items()} | {
        "seconds_per_question_with_rendering_median": round(statistics.median(secs or [0.0]), 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--model", default="local")
    ap.add_argument("--en", type=int, default=30, help="English fars_qa_dev questions")
    ap.add_argument("--fa", type=int, default=15, help="Persian fars_qa_dev questions")
    ap.add_argument("--set", dest="dev_set", help="ask this set's questions instead of fars_qa_dev "
                                                  "(e.g. benchmarks/fars_qa_fresh.jsonl)")
    ap.add_argument("--half", choices=("tune", "held", "all"), default="all",
                    help="only this half of the set (split_half; 'all' adds seed_dev to fars_qa_dev)")
    ap.add_argument("--probe-select", action="store_true",
                    help="also ask the model which source holds the answer (recorded in the rows)")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--max-tokens", type=int, default=200)
    ap.add_argument("--translate-timeout", type=float, default=0.0,
                    help="seconds for the Persian rendering of English questions (0 = off, the product's default)")
    ap.add_argument("--translation", action="store_true", help="measure retrieval with the Persian rendering")
    ap.add_argument("--json", help="write rows and summaries here")
    ap.add_argument("--renderings", help="with --translation: reuse the renderings in this --json output")
    ap.add_argument("--replay", help="feed back the model replies recorded in this --json output")
    ap.add_argument("--no-live", action="store_true",
                    help="with --replay: skip questions not recorded there or that the model could not answer then")
    ap.add_argument("--only-new", action="store_true", help="with --replay: ask only questions not recorded there")
    ap.add_argument("--alt-weight", type=float, help="SearchOptions.alt_weight to try (default: the product's)")
    args = ap.parse_args()
    settings = Settings(data_dir=args.data_dir, llm="openai", llm_base_url=args.base_url, llm_model=args.model,
                        llm_timeout=args.timeout, llm_max_tokens=args.max_tokens, llm_temperature=0.0,
                        llm_translate_timeout=args.translate_timeout)
    store = PassageStore(settings, build_embedder(settings.embedder))
    qa = QA(settings, store=store, chain=build_chain(settings))
    if args.translation:
        items = [i for i in sorted(load_eval_set(SHARED / "eval" / "fars_qa_dev.jsonl"), key=lambda i: i.id)
                 if i.lang == "en"][: args.en]
        cached = None
        if args.renderings:
            with open(args.renderings, encoding="utf-8") as fh:
                data = json.load(fh)
            rows = data.get("rows", [])
            by_id = {r["id"]: r.get("rendering", []) for r in rows}
            cached = {i.question: by_id[i.id] for i in items if i.id in by_id}
            items = [i for i in items if i.id in by_id]
        out = run_translation(qa, items, cached, args.alt_weight)
        print(json.dumps(out, indent=1))
    else:
        replay = None
        if args.replay:
            with open(args.replay, encoding="utf-8") as fh:
                replay = {r["id"]: r for r in json.load(fh)["rows"]}
        items = questions(args.en, args.fa, args.dev_set, args.half)
        def save(partial: dict) -> None:  # after every question: a run cut short still reports
            if args.json:
                with open(args.json, "w", encoding="utf-8") as fh:
                    json.dump(partial, fh, indent=1, ensure_ascii=False)

        if replay is not None and args.no_live:
            replay = {k: r for k, r in replay.items() if r["note"] not in FALLBACK_NOTE.values()}
            items = [i for i in items if i.id in replay]
        if replay is not None and args.only_new:  # a held-out check: just the questions not recorded
            items = [i for i in items if i.id not in replay]
        out = run_answers(qa, items, replay, save, args.probe_select)
        print(json.dumps({"answers_whose_evidence_retrieval_found": out["summary"],
                          "all_questions": out["summary_all"], "english_retrieval": out["english_retrieval"]},
                         indent=1, ensure_ascii=False))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()

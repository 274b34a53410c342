"""Reranking by the model's query likelihood: would the 1.5 B model pick the answer paragraph among
retrieval's five passages better than retrieval's own first? (Measured, not kept: README, LLM answers.)

Three steps, because the model is read through llama-cpp-python in its own venv (the server's
`echo` + `logprobs` are shifted by one token in 0.3.36, so the prompt's own log-probabilities are
computed here from the logits):
  python benchmarks/query_likelihood.py dump --data-dir FULL_INDEX --out docs.json          # Khabar's venv
  /work/llm-venv/bin/python benchmarks/query_likelihood.py score --model model.gguf \\
      --docs docs.json --out ql.json                                                       # the model's venv
  python benchmarks/query_likelihood.py report --docs docs.json --scores ql.json
Each passage is scored by the mean log-probability of the question's tokens after the passage and
"write one question that the passage above answers" (Qwen's chat layout), for fars_qa_dev's questions
whose evidence retrieval found; `report` prints paragraph hit@1 of retrieval's order, of the model's,
and of retrieval's score plus the model's at a few weights, per half and language.
"""
from __future__ import annotations

import argparse
import json

ASK = {"en": "Write one question, in English, that the passage above answers.",
       "fa": "یک پرسش بنویس که متن بالا به آن پاسخ می‌دهد."}


def dump(data_dir: str, out: str) -> None:
    """Retrieval's five passages for every fars_qa_dev question, and which hold the evidence."""
    from _common import SHARED

    from bot.core.evaluation import is_hit, load_eval_set, split_half
    from bot.core.qa import QA
    from bot.settings import Settings
    from index.models import StoredPassage

    qa = QA(Settings(data_dir=data_dir))
    ev = SHARED / "eval"
    rows = []
    for half in ("tune", "held"):
        for it in sorted(split_half(load_eval_set(ev / "fars_qa_dev.jsonl", ev / "fars_titles_dev.jsonl"), half),
                         key=lambda i: i.id):
            ctx = qa.contexts(qa.retrieve(it.question))
            rows.append({"id": it.id, "half": half, "lang": it.lang, "q": it.question,
                         "docs": [{"title": c.title, "text": c.text, "score": c.score} for c in ctx],
                         "hits": [is_hit(it, StoredPassage(article_id=c.article_id, url=c.url or "", source=c.source),
                                         c.text) for c in ctx]})
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(rows, fh, ensure_ascii=False)


def score(model: str, docs: str, out: str, half: str) -> None:
    """The question's mean token log-probability after each passage, by llama.cpp in-process."""
    import numpy as np
    from llama_cpp import Llama

    llm = Llama(model_path=model, n_ctx=2048, logits_all=True, n_threads=2, n_threads_batch=2, verbose=False)
    with open(docs, encoding="utf-8") as fh:
        rows = [r for r in json.load(fh) if any(r["hits"]) and half in ("all", r["half"])]

    def loglik(prefix: str, question: str) -> float:
        tp = llm.tokenize(prefix.encode(), add_bos=False, special=True)
        tq = llm.tokenize(question.encode(), add_bos=False, special=False)
        toks = (tp + tq)[-2000:]
        llm.reset()
        llm.eval(toks)
        logits = np.asarray(llm.scores[: len(toks)], dtype=np.float64)
        lp = []
        for j in range(len(toks) - len(tq), len(toks)):
            row = logits[j - 1]  # the distribution after token j-1 predicts token j
            m = row.max()
            lp.append(row[toks[j]] - m - np.log(np.exp(row - m).sum()))
        return float(np.mean(lp))

    res = {}
    for k, r in enumerate(rows, 1):
        res[r["id"]] = [loglik(f"<|im_start|>user\n{d['title']}\n{d['text']}\n\n{ASK[r['lang']]}<|im_end|>\n"
                               "<|im_start|>assistant\n", r["q"]) for d in r["docs"]]
        print(f"[{k}/{len(rows)}] {r['id']}", flush=True)
        with open(out, "w", encoding="utf-8") as fh:
            json.dump(res, fh)


def report(docs: str, scores: str) -> None:
    """Paragraph hit@1 of retrieval, the model, and their sum at a few weights."""
    import numpy as np

    with open(docs, encoding="utf-8") as fh:
        rows = {r["id"]: r for r in json.load(fh)}
    with open(scores, encoding="utf-8") as fh:
        ql = json.load(fh)

    def hit1(ids: list[str], pick) -> str:
        return f"{sum(rows[i]['hits'][pick(i)] for i in ids)}/{len(ids)}"

    for half in ("tune", "held"):
        for lang in ("en", "fa"):
            ids = [i for i in ql if rows[i]["half"] == half and rows[i]["lang"] == lang]
            if not ids:
                continue
            line = f"{half} {lang}: retrieval {hit1(ids, lambda i: 0)}, model {hit1(ids, lambda i: int(np.argmax(ql[i])))}"
            for w in (0.5, 1.0, 2.0, 4.0):
                def mixed(i: str, w: float = w) -> int:
                    sc = np.array([d["score"] for d in rows[i]["docs"]])
                    q = np.array(ql[i])
                    return int(np.argmax(sc / sc[0] + w * (q - q.max())))
                line += f", +{w}×model {hit1(ids, mixed)}"
            print(line)


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="step", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--data-dir", required=True)
    d.add_argument("--out", required=True)
    s = sub.add_parser("score")
    s.add_argument("--model", required=True)
    s.add_argument("--docs", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--half", choices=("tune", "held", "all"), default="tune")
    r = sub.add_parser("report")
    r.add_argument("--docs", required=True)
    r.add_argument("--scores", required=True)
    args = ap.parse_args()
    if args.step == "dump":
        dump(args.data_dir, args.out)
    elif args.step == "score":
        score(args.model, args.docs, args.out, args.half)
    else:
        report(args.docs, args.scores)


if __name__ == "__main__":
    main()

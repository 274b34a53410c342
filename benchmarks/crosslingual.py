"""An index of both languages: Persian questions about English news, and English ones about Persian news (with
Fars indexed) — paragraph / article hit@1, hit@5 and how many are answered — and off-topic questions refused.

Usage:
  python benchmarks/crosslingual.py --data-dir DIR --build [--with-fars | --alone] [--half tune|held|all]
  python benchmarks/crosslingual.py --data-dir DIR [--half ...]      (DIR already built)
--build indexes benchmarks/english_news.jsonl (40 English articles written for this benchmark, no text of
../shared) into DIR, with the sample articles (samples/: a small index of both languages) or, --with-fars,
with the example article and the 1,500 Fars News articles of ../shared (English news among much Persian
news) or, --alone, by themselves (an English newsroom's index, asked in Persian too). Questions:
benchmarks/english_news_qa.jsonl (80 Persian, 20 English) and english_news_qa_en.jsonl (80 English; an article's
questions are in the same half: odd article numbers tune), offtopic_news_en.jsonl (80 English questions that sound
like the English news but are not in it; offtopic_news_fa.jsonl, 80 such Persian questions written apart from the
code), english_news_names.jsonl (92 "Who is …?" questions about its names, and
the same names alone, as typed into a search box), terse_en.jsonl / terse_offtopic_en.jsonl (80 terse questions
it answers and 80 it does not: "Gelian Dam capacity?", "Book fair ticket price?"),
english_news_qa_fresh_fa.jsonl (79 Persian questions about the same articles by a writer who saw no code nor
any other question set; never tuned on: reported with --half held or all), english_news_lead_fa.jsonl (40 Persian
questions about each story's main fact, answered by its first paragraph; written apart, never tuned on, reported
with every half),
fars_qa_dev's questions of that half (+ our fars_qa_tune or
fars_qa_fresh; with Fars indexed), and offtopic_tune.jsonl's or offtopic.jsonl's.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys

from _common import ROOT, SHARED

from bot.core.evaluation import EvalItem, is_hit, load_eval_set, split_half
from bot.core.qa import QA
from bot.settings import Settings


def english_news_questions(half: str, lang: str) -> list[EvalItem]:
    """Our questions about benchmarks/english_news.jsonl in `lang`, of `half` (English: also the 80 of
    english_news_qa_en.jsonl)."""
    items = load_eval_set(ROOT / "benchmarks" / "english_news_qa.jsonl")
    if lang == "en":
        items += load_eval_set(ROOT / "benchmarks" / "english_news_qa_en.jsonl")
    return [i for i in split_half(items, half) if i.lang == lang]


def name_questions(half: str) -> list[EvalItem]:
    """English questions about a name in the English news ("Who is Saeed Nikzad?", "Tell me about Gelian Dam.":
    english_news_names.jsonl, made from the articles' capitalized names, up to three per article), of `half`."""
    return split_half(load_eval_set(ROOT / "benchmarks" / "english_news_names.jsonl"), half)


def bare_names(items: list[EvalItem]) -> list[EvalItem]:
    """The name questions as a search box gets them: the name alone ("Hamid Nourbakhsh", "Gelian Dam")."""
    out = []
    for i in items:
        m = re.fullmatch(r"(?:Who is|Tell me about|What did) (.+?)(?: say)?[.?]", i.question)
        if m:
            out.append(EvalItem(i.id, i.lang, m.group(1), i.gold_sources, i.evidence))
    return out


def terse_questions(half: str) -> list[EvalItem]:
    """English questions as typed into a search box ("Gelian Dam capacity?", "yazd water cuts hours"):
    terse_en.jsonl, two per English news article, of `half`."""
    return split_half(load_eval_set(ROOT / "benchmarks" / "terse_en.jsonl"), half)


def unanswered(name: str, lang: str, half: str) -> list[str]:
    """The questions of benchmarks/`name` (id, question; none answered by the index) in `lang`, of `half`."""
    items = [EvalItem(r["id"], lang, r["question"], [], []) for r in map(
        json.loads, (ROOT / "benchmarks" / name).read_text("utf-8").splitlines())]
    return [i.question for i in split_half(items, half)]


def terse_offtopic(half: str) -> list[str]:
    """Terse English questions the English news does not answer, most with its words ("Book fair ticket
    price?", "Sepahan coach salary?"): terse_offtopic_en.jsonl, of `half`."""
    return unanswered("terse_offtopic_en.jsonl", "en", half)


def news_offtopic(half: str, lang: str = "en") -> list[str]:
    """Questions in `lang` the English news does not answer but that sound like it (offtopic_news_en.jsonl,
    offtopic_news_fa.jsonl: the same teams, cities and industries, or news elsewhere), of `half`."""
    return unanswered(f"offtopic_news_{lang}.jsonl", lang, half)


def fars_questions(half: str, lang: str) -> list[EvalItem]:
    """fars_qa_dev's questions in `lang` of `half`, with our tuning or fresh set's."""
    refs = SHARED / "eval" / "fars_titles_dev.jsonl"
    items = split_half(load_eval_set(SHARED / "eval" / "fars_qa_dev.jsonl"), half)
    ours = {"tune": ["fars_qa_tune.jsonl"], "held": ["fars_qa_fresh.jsonl"]}.get(half, ["fars_qa_tune.jsonl",
                                                                                      "fars_qa_fresh.jsonl"])
    for name in ours:
        items += load_eval_set(ROOT / "benchmarks" / name, refs)
    return [i for i in items if i.lang == lang]


def offtopic(half: str, lang: str) -> list[str]:
    """The off-topic questions in `lang` of `half`."""
    names = {"tune": ["offtopic_tune.jsonl"], "held": ["offtopic.jsonl"]}.get(half, ["offtopic_tune.jsonl",
                                                                                   "offtopic.jsonl"])
    rows = [json.loads(line) for n in names for line in (ROOT / "benchmarks" / n).read_text("utf-8").splitlines()
            if line.strip()]
    return [r["question"] for r in rows if r["lang"] == lang]


def measure(qa: QA, items: list[EvalItem]) -> dict:
    """Paragraph hit@1 / @5, article hit@1 and the share answered (not refused)."""
    p1 = p5 = a1 = answered = 0
    for item in items:
        res = qa.retrieve(item.question)
        snap = res.snap
        rank = next((k for k, h in enumerate(res.hits) if is_hit(item, snap.passage(h.pos), snap.text(h.pos))), None)
        article = EvalItem(item.id, item.lang, item.question, item.gold_sources, [])
        a1 += bool(res.hits) and is_hit(article, snap.passage(res.hits[0].pos), "")
        p1 += rank == 0
        p5 += rank is not None
        answered += qa.is_relevant(res, item.question)
    n = len(items) or 1
    return {"n": len(items), "para@1": round(p1 / n, 3), "para@5": round(p5 / n, 3), "article@1": round(a1 / n, 3),
            "answered": round(answered / n, 3)}


def refused(qa: QA, questions: list[str]) -> float:
    """The share of `questions` refused (retrieval judged no passage about them)."""
    return round(sum(not qa.is_relevant(qa.retrieve(q), q) for q in questions) / len(questions), 3)


def build(data_dir: str, with_fars: bool, alone: bool = False) -> None:
    """Index the English news with the samples, with the example article and Fars News, or alone."""
    sources = [str(ROOT / "benchmarks" / "english_news.jsonl")]
    if not alone:
        sources += [str(SHARED / "corpora" / "seed"), str(SHARED / "corpora" / "fars-news")] if with_fars \
            else [str(ROOT / "samples")]
    subprocess.run([sys.executable, "-m", "bot", "--data-dir", data_dir, "index", "add", *sources], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--build", action="store_true")
    ap.add_argument("--with-fars", action="store_true")
    ap.add_argument("--alone", action="store_true")
    ap.add_argument("--half", choices=["tune", "held", "all"], default="all")
    args = ap.parse_args()
    if args.build:
        build(args.data_dir, args.with_fars, args.alone)
    qa = QA(Settings(data_dir=args.data_dir))
    out = {"persian_about_english": measure(qa, english_news_questions(args.half, "fa")),
           **({"persian_about_english_fresh": measure(qa, load_eval_set(
               ROOT / "benchmarks" / "english_news_qa_fresh_fa.jsonl"))} if args.half != "tune" else {}),
           # the story's main fact, answered by its first paragraph: a guard for any rule that moves the lead down
           "persian_lead_facts": measure(qa, load_eval_set(ROOT / "benchmarks" / "english_news_lead_fa.jsonl")),
           "english_about_english": measure(qa, english_news_questions(args.half, "en")),
           "english_names_in_english_news": measure(qa, name_questions(args.half)),
           "english_bare_names": measure(qa, bare_names(name_questions(args.half))),
           "english_terse": measure(qa, terse_questions(args.half))}
    if SHARED.exists() and any("farsnews" in (a.url or "") for a in qa.store().snapshot().articles().values()):
        out["persian_about_fars"] = measure(qa, fars_questions(args.half, "fa"))
        out["english_about_fars"] = measure(qa, fars_questions(args.half, "en"))
    for lang, name in (("fa", "persian"), ("en", "english")):
        out[f"{name}_offtopic_refused"] = refused(qa, offtopic(args.half, lang))
    for lang, name in (("en", "english"), ("fa", "persian")):
        out[f"{name}_news_like_offtopic_refused"] = refused(qa, news_offtopic(args.half, lang))
    out["english_terse_offtopic_refused"] = refused(qa, terse_offtopic(args.half))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

"""Offline extractive answers: the sentences of the top passages that answer the question, cited."""
from __future__ import annotations

import math
from dataclasses import dataclass

from index.normalizer import tokenize
from index.text import split_sentences

MAX_SENTENCES = 3
MAX_CHARS = 700
NEAR_TIE = 0.8  # passages scored at least this share of the best one each give a sentence

FRAMES = {
    # (question language, source language) → the sentence that introduces quoted sources
    ("en", "fa"): "The indexed articles on this are in Persian. They say:",
    ("fa", "en"): "خبرهای مرتبط به زبان انگلیسی هستند و در آن‌ها آمده است:",
}


@dataclass
class Pick:
    """A chosen sentence: which passage (index into the candidates) and its text."""

    passage: int
    text: str
    score: float


def pick_sentences(passages: list[str], weights: dict[str, float], priors: list[float],
                   avoid: str = "") -> list[Pick]:
    """Score every sentence of `passages` against the query term weights and keep the best few.

    A sentence's score is the weight of the query terms it contains (each once), damped by its
    length, times its passage's retrieval score relative to the best passage. The best sentence of
    the top passage, and of every passage retrieval ranks nearly as high (prior ≥ NEAR_TIE), is always
    kept: across languages the words rarely match, and the retrieval ranking is the better judge.
    Sentences found in `avoid` (what "What else…?" was already told) are skipped while others remain.
    """
    return (avoid and _pick(passages, weights, priors, avoid)) or _pick(passages, weights, priors, "")


def sentence_score(sentence: str, weights: dict[str, float], prior: float) -> float:
    """How well a sentence answers the query: the weight of the query terms it contains (each once),
    damped by its length, times its passage's retrieval score relative to the best (`prior`)."""
    toks = set(tokenize(sentence))
    if not toks:
        return 0.0
    return prior * (0.05 + sum(w for t, w in weights.items() if t in toks)) / math.log(3 + len(toks))


def quote_passage(passages: list[str], weights: dict[str, float]) -> list[Pick]:
    """The sentences to quote from retrieval's first passage, the one quoted answer cites (quoting more
    cites passages that do not hold the answer). Measured on fars_qa_dev (no model): retrieval's first
    holds the evidence as often as, or more often than, any other choice tried — the passage whose
    sentences best match the question's words, the passages a language model cited for its rejected
    answer (with a 1.5 B model they were wrong whenever the first was right), or the first passage
    whose words answer at all (across languages the words rarely match)."""
    if not passages:
        return []
    picks = _pick(passages[:1], weights, [1.0], "")
    for p in picks:
        p.passage = 0
    return picks


def _pick(passages: list[str], weights: dict[str, float], priors: list[float], avoid: str) -> list[Pick]:
    best_of: dict[int, Pick] = {}
    cands: list[Pick] = []
    for i, text in enumerate(passages):
        for s, e in split_sentences(text):
            sent = text[s:e]
            if not tokenize(sent) or (avoid and sent.strip() in avoid):
                continue
            pick = Pick(i, sent, sentence_score(sent, weights, priors[i]))
            cands.append(pick)
            if i not in best_of or pick.score > best_of[i].score:
                best_of[i] = pick
    if not cands:
        return []
    chosen = [best_of[i] for i in sorted(best_of) if i == min(best_of) or priors[i] >= NEAR_TIE]
    chosen = chosen[:MAX_SENTENCES]
    size = sum(len(c.text) for c in chosen)
    top = max(c.score for c in cands)
    for c in sorted(cands, key=lambda p: -p.score):
        if len(chosen) >= MAX_SENTENCES or c.score < 0.5 * top:
            break
        if any(c is x for x in chosen) or size + len(c.text) > MAX_CHARS:
            continue
        chosen.append(c)
        size += len(c.text)
    # read in source order: by passage rank, then position in the passage
    return sorted(chosen, key=lambda c: (c.passage, passages[c.passage].find(c.text)))


def frame(question_lang: str, source_lang: str) -> str:
    """The introduction for quoting sources in another language than the question's ('' if same)."""
    return FRAMES.get((question_lang, source_lang), "")


REFUSAL = {
    "en": "I could not find anything about this in the indexed articles.",
    "fa": "در خبرهای نمایه‌شده مطلبی درباره این پرسش پیدا نکردم.",
}

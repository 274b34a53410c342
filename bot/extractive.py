"""Offline extractive answers: the sentences of the top passages that answer the question, cited."""
from __future__ import annotations

import math
from dataclasses import dataclass

from index.chunking import split_sentences
from index.normalizer import tokenize

MAX_SENTENCES = 3
MAX_CHARS = 700

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


def pick_sentences(passages: list[str], weights: dict[str, float], ranks_prior: list[float]) -> list[Pick]:
    """Score every sentence of `passages` against the query term weights and keep the best few.

    A sentence's score is the weight of the query terms it contains (each once), damped by its
    length, times a prior that favours higher-ranked passages. The best passage always gives one
    sentence, so the top-ranked evidence is never left out.
    """
    cands: list[Pick] = []
    for i, text in enumerate(passages):
        for s, e in split_sentences(text):
            sent = text[s:e]
            toks = set(tokenize(sent))
            if not toks:
                continue
            match = sum(w for t, w in weights.items() if t in toks)
            score = ranks_prior[i] * (0.05 + match) / math.log(3 + len(toks))
            cands.append(Pick(i, sent, score))
    if not cands:
        return []
    cands.sort(key=lambda p: -p.score)
    best = cands[0]
    chosen = [best]
    size = len(best.text)
    for c in cands[1:]:
        if len(chosen) >= MAX_SENTENCES or c.score < 0.5 * best.score:
            break
        if size + len(c.text) > MAX_CHARS:
            continue
        chosen.append(c)
        size += len(c.text)
    # read in source order: by passage rank, then position in the passage
    order = {id(c): (c.passage, passages[c.passage].find(c.text)) for c in chosen}
    return sorted(chosen, key=lambda c: order[id(c)])


def frame(question_lang: str, source_lang: str) -> str:
    """The introduction for quoting sources in another language than the question's ('' if same)."""
    return FRAMES.get((question_lang, source_lang), "")


REFUSAL = {
    "en": "I could not find anything about this in the indexed articles.",
    "fa": "در خبرهای نمایه‌شده مطلبی درباره این پرسش پیدا نکردم.",
}

"""The checks a model's reply passes before any of it is shown: dangling markers, support by the cited (or
an attributed) passage, citable passages, the answer's language, and the first-passage rule; also
applied sentence by sentence while the reply streams (`SentenceGate`)."""
from __future__ import annotations

import logging
import re

from langchain_core.documents import Document

from bot.core.answertype import asks_quantity, counted_words, counts_in, numbers_in
from bot.core.citations import (
    CheckedAnswer,
    check_answer,
    content_words,
    flatten_markdown,
    foreign,
    keep_language,
    split_claims,
    without_markers,
)
from bot.core.support import SupportCheck
from index.embeddings import VectorEmbeddings
from index.normalizer import normalize

log = logging.getLogger(__name__)

_BOUNDARY = re.compile(r"[.!?؟…\n\]】:]")
_LETTER = re.compile(r"[^\W\d_]")

# A passage retrieval scored under this share of its best passage is not cited (see citable_sources).
CITABLE_SCORE = 0.5


def citable_sources(docs: list[Document]) -> set[int] | None:
    """The source numbers (1-based) an answer may cite: passages retrieval scored at least
    CITABLE_SCORE of its best one. A small model copies sentences from the stragglers at the end
    of the list (other articles, scored far lower); they "support" the copied sentence but do not
    answer the question. None (all) when the Documents carry no scores (another retriever)."""
    try:
        scores = [float(d.metadata["score"]) for d in docs]
    except (KeyError, TypeError, ValueError):
        return None
    best = max(scores, default=0.0)
    if best <= 0:
        return None
    return {i for i, s in enumerate(scores, 1) if s >= CITABLE_SCORE * best}


def support_for(docs: list[Document], embedder: VectorEmbeddings, question: str
                ) -> tuple[list[str], set[int] | None, SupportCheck]:
    """The passages' texts, which of them may be cited (`citable_sources`) and their support check."""
    texts = [d.page_content for d in docs]
    headers = [f"{d.metadata.get('title') or ''} {d.metadata.get('date') or ''}" for d in docs]
    citable = citable_sources(docs)
    return texts, citable, SupportCheck(embedder, texts, headers, citable, question)


def check_text(text: str, docs: list[Document], embedder: VectorEmbeddings, question: str = "",
               lang: str | None = None,
               prepared: tuple[list[str], set[int] | None, SupportCheck] | None = None) -> CheckedAnswer:
    """Drop dangling markers and unsupported sentences (and, given the answer's `lang`, sentences in the
    other language), attribute unmarked ones, renumber; only passages retrieval scored near the best may
    be cited (`citable_sources`), and an answer that does not cite retrieval's first passage is rejected
    (`rests_on_first`). `prepared`: `support_for`'s result for these docs and question, if already built."""
    foreign = 0
    if lang is not None:
        text, foreign = keep_language(text, lang)
    texts, citable, support = prepared or support_for(docs, embedder, question)
    checked = check_answer(text, texts, support.supported, attribute=support.attribute, citable=citable,
                           strength=support.strength)
    checked.dropped += foreign
    if checked.text and citable is not None and not rests_on_first(checked, question):
        log.info("answer does not cite retrieval's first passage: %s", checked.used)
        return CheckedAnswer("", [], checked.dropped + len(split_claims(checked.text)), checked.dangling,
                             checked.cited, no_answer=checked.no_answer)
    return checked


def rests_on_first(checked: CheckedAnswer, question: str) -> bool:
    """Whether a checked answer cites retrieval's first passage (or states the figure a quantity question
    asks for, `states_asked_figure`). A small model that answers from another passage picked the wrong
    one far more often than retrieval did: with Qwen2.5-Coder-1.5B on fars_qa_dev's tuning half, of 32 replies
    whose first marker named a later passage, that passage held the answer 7 times, the first 20 times;
    the answer then quotes the first passage instead (its sentences, cited)."""
    return 1 in checked.used or states_asked_figure(checked.text, question)


def states_asked_figure(text: str, question: str) -> bool:
    """Whether an answer to a quantity question has a sentence that restates the question and adds, in
    digits, a number it does not contain (of what it counts, when it names it: "240 *workers*")."""
    # the asked figure often sits in a paragraph the question's words do not point at (they describe the
    # article); a sentence restating the question with a new figure answers it — one that shares only a
    # word or two ("12 people were unhurt when a bus overturned…") is another story with a number in it
    if not asks_quantity(question):
        return False
    asked, units, topic = numbers_in(question), set(counted_words(question)), content_words(question)
    return any(numbers_in(c.text) - asked  # digits only: Persian number words include یک ("a") and نه ("not")
               and (not units or counts_in(c.text, units, asked))
               and _shared(content_words(c.text), topic) >= RESTATES * len(topic)
               for c in split_claims(text))


RESTATES = 0.5  # share of the question's content words a sentence restating it repeats


def _shared(said: set[str], topic: set[str]) -> int:
    # "opened" restates "open", برگزار شد "برگزاری": a common beginning of 4+ letters is the same word
    return sum(1 for t in topic if t in said or len(t) >= 4 and any(
        len(w) >= 4 and (w.startswith(t) or t.startswith(w)) for w in said))


class SentenceGate:
    """Releases the sentences of a reply as they complete, each only if it passes the checks the final
    answer applies to it (support by a cited or attributed passage, no link or markup, the answer's
    language): the raw reply of a model that follows an instruction injected into an article is never
    on screen, not even until the checked answer replaces it."""

    def __init__(self, texts: list[str], citable: set[int] | None, support: SupportCheck, lang: str):
        self.texts = texts
        self.citable = citable
        self.support = support
        self.lang = lang
        self.reply = ""
        self.pending = False  # a stop arrived and the words that complete its sentence may not have
        self.judged: set[str] = set()  # sentences already let through or held back, by their text

    def add(self, chunk: str) -> list[str]:
        """The sentences `chunk` completed that pass the checks: a sentence is complete once a stop (or
        line break, marker) is followed by words, so only then is the reply split again (re-splitting it
        on every token costs CPU a local model needs)."""
        self.reply += chunk
        boundary = bool(_BOUNDARY.search(chunk))
        if not (boundary or self.pending and _LETTER.search(chunk)):
            return []
        self.pending = boundary
        return self.feed()

    def feed(self, final: bool = False) -> list[str]:
        """The sentences of the reply so far completed since the last call — all of them when `final` —
        that pass the checks, without markers (the final answer numbers its citations)."""
        claims = split_claims(flatten_markdown(self.reply))
        if not final:
            # a sentence is complete once words follow it: its markers may still be arriving
            # ("… closed. [1"), and the last one may still be growing
            last = max((i for i, c in enumerate(claims) if _LETTER.search(c.text)), default=0)
            claims = claims[:last]
        out = []
        for c in claims:
            key = normalize(c.text)
            if key in self.judged:
                continue
            self.judged.add(key)
            if foreign(c.text, self.lang):
                continue
            checked = check_answer(c.marked(), self.texts, self.support.supported, attribute=self.support.attribute,
                                   citable=self.citable, strength=self.support.strength)
            if checked.text:
                out.append(without_markers(checked.text))
        return out

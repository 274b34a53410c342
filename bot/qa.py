"""The question → answer service every channel calls: `QA.answer(...)` returns an `Answer`."""
from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator

from index.embeddings import VectorEmbeddings, build_embedder
from index.errors import IndexMissing
from index.language import detect_language
from index.normalizer import content_words, tokenize
from index.settings import Settings
from index.store import PassageStore

from .dates import parse_user_date
from .errors import EmptyQuestion, NoWords, QuestionTooLong
from .extractive import REFUSAL, frame, pick_sentences
from .retrieval import HybridRetriever, HybridSearcher, SearchOptions, SearchResult, name_like
from .schema import Answer, Citation, Context

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffd]")
_WORDY = re.compile(r"[^\W_]", re.UNICODE)

# Calibrated with benchmarks/refusal.py (dev questions vs benchmarks/offtopic.jsonl). Persian: a
# question is answered when its best dense match is very close, or fairly close with enough of its
# words in the top passages. English over mostly Persian articles: a lower dense bar, or names
# (transliterated) found in the top passages.
FA_DENSE, FA_DENSE_WITH_WORDS, FA_COVERAGE = 0.85, 0.80, 0.4
EN_DENSE, EN_DENSE_WITH_WORDS, EN_COVERAGE = 0.80, 0.78, 0.5
NAMES_DENSE = 0.75


def clean_question(question: str, max_chars: int) -> str:
    """Validate and tidy a question; raises EmptyQuestion, QuestionTooLong or NoWords."""
    if question is None or not str(question).strip():
        raise EmptyQuestion()
    text = " ".join(_CONTROL.sub(" ", str(question)).split())
    if not text:
        raise NoWords()
    if len(text) > max_chars:
        raise QuestionTooLong(len(text), max_chars)
    if not _WORDY.search(text):
        raise NoWords()
    return text


class QA:
    """Answers questions from the index; one instance serves a whole process (thread-safe reads)."""

    def __init__(self, settings: Settings, store: PassageStore | None = None,
                 embedder: VectorEmbeddings | None = None, chain=None):
        self.settings = settings
        self.embedder = embedder or (store.embedder if store else build_embedder(settings.embedder,
                                                                                  settings.embed_threads))
        self._store = store
        self._searcher = HybridSearcher(store) if store else None
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self.chain = chain  # the LLM chain (bot.chain), None for extractive only

    # ---- index access ---------------------------------------------------------------------------
    def store(self) -> PassageStore:
        """The open store; opened on first use and refreshed when another process wrote to it."""
        with self._lock:
            if self._store is None:
                self._store = PassageStore(self.settings, self.embedder)
                self._searcher = HybridSearcher(self._store)
            elif time.monotonic() - self._checked > self.settings.refresh_seconds:
                self._checked = time.monotonic()
                self._store.refresh()
            return self._store

    def searcher(self) -> HybridSearcher:
        """The searcher over the current store."""
        self.store()
        return self._searcher

    def stats(self) -> dict:
        """Index size, embedder and mode, for health checks and /sources."""
        try:
            store = self.store()
        except IndexMissing:
            return {"articles": 0, "passages": 0, "embedder": self.embedder.name, "languages": {},
                    "date_range": [None, None], "llm": self.settings.llm}
        arts = store.catalog.articles()
        langs: dict[str, int] = {}
        for a in arts.values():
            langs[a["lang"]] = langs.get(a["lang"], 0) + 1
        dates = sorted(a["date"] for a in arts.values() if a.get("date"))
        return {"articles": len(arts), "passages": len(store.catalog.ids), "embedder": self.embedder.name,
                "languages": langs, "date_range": [dates[0] if dates else None, dates[-1] if dates else None],
                "llm": self.settings.llm}

    # ---- answering ------------------------------------------------------------------------------
    def retriever(self, k: int | None = None, since: str | None = None, until: str | None = None,
                  primary: str | None = None) -> HybridRetriever:
        """The hybrid search with the configured options, as a LangChain retriever; with an LLM, an
        English question is also searched in the model's Persian rendering (`AnswerChain.search_terms`)."""
        opts = SearchOptions(k=k or self.settings.top_k, per_article=self.settings.per_article_cap,
                             since=parse_user_date(since), until=parse_user_date(until),
                             recency=self.settings.recency, primary=primary)
        searcher = self.searcher()
        if not searcher.store.catalog.ids:
            raise IndexMissing(str(self.settings.data_dir))
        expand = self.chain.search_terms if self.chain is not None else None
        return HybridRetriever(searcher=searcher, options=opts, expand=expand)

    def retrieve(self, question: str, k: int | None = None, since: str | None = None,
                 until: str | None = None, primary: str | None = None) -> SearchResult:
        """Hybrid search with the configured options (`primary`: a follow-up's own words)."""
        return self.retriever(k, since, until, primary).search(question)

    def answer(self, question: str, history: list[tuple[str, str]] | None = None, lang: str | None = None,
               *, k: int | None = None, since: str | None = None, until: str | None = None) -> Answer:
        """Answer `question` from the index in its language, citing the source paragraphs."""
        final = None
        for item in self.stream_answer(question, history, lang, k=k, since=since, until=until):
            if isinstance(item, Answer):
                final = item
        return final

    def stream_answer(self, question: str, history: list[tuple[str, str]] | None = None,
                      lang: str | None = None, *, k: int | None = None, since: str | None = None,
                      until: str | None = None) -> Iterator[str | Answer]:
        """Yield answer text chunks, then the final checked `Answer`."""
        t0 = time.perf_counter()
        q = clean_question(question, self.settings.max_question_chars)
        lang = lang if lang in ("fa", "en") else detect_language(q)
        standalone = self.rewrite(q, history, lang)
        retriever = self.retriever(k, since, until, primary=q if standalone != q else None)
        if self.chain is not None:  # the LangChain retrieval chain: retriever → prompt → model → checks
            yield from self.chain.stream(self, q, standalone, lang, retriever, history, t0)
            return
        result = retriever.search(standalone)
        ans = self.extractive(q, lang, result, standalone)
        ans.timings_ms["total"] = round((time.perf_counter() - t0) * 1000, 2)
        # stream sentence by sentence, so the widget and Telegram show text as it comes
        yield from re.findall(r".+?(?:\]\s*|\n|$)", ans.answer, flags=re.S)
        yield ans

    def rewrite(self, question: str, history: list[tuple[str, str]] | None, lang: str) -> str:
        """A follow-up becomes standalone: LLM rewrite when configured, else the previous question's
        key terms are added to a short question."""
        if not history:
            return question
        if self.chain is not None:
            return self.chain.rewrite(question, history, lang)
        prev = history[-1][0]
        if len(content_words(question)) >= 6:
            return question
        extra = [w for w in content_words(prev) if w not in set(content_words(question))]
        return question + " " + " ".join(extra[:8]) if extra else question

    def is_relevant(self, result: SearchResult, question: str) -> bool:
        """Whether the retrieved passages are about the question (else the answer is a refusal)."""
        if not result.hits:
            return False
        d = result.top_dense
        fa = detect_language(question) == "fa"
        if d >= (FA_DENSE if fa else EN_DENSE):
            return True
        if d < NAMES_DENSE:
            return False
        store = self.searcher().store
        seen: set[str] = set()
        for h in result.hits[:3]:
            seen |= set(tokenize(store.catalog.texts[h.pos]))
        names = store.lexical.transliterations(name_like(question))
        if any(c in seen for cands in names.values() for c in cands):
            return True  # a name of the question, in the other script, is in the top passages
        words = {w for w in tokenize(question) if " " not in w}
        coverage = len(words & seen) / len(words) if words else 0.0
        return d >= (FA_DENSE_WITH_WORDS if fa else EN_DENSE_WITH_WORDS) and \
            coverage >= (FA_COVERAGE if fa else EN_COVERAGE)

    def contexts(self, result: SearchResult) -> list[Context]:
        """The retrieved passages as Context records (n filled in once cited)."""
        cat = self.searcher().store.catalog
        out = []
        for h in result.hits:
            m = cat.metas[h.pos]
            out.append(Context(n=None, article_id=m["article_id"], title=m.get("title", ""),
                               date=m.get("date") or None, url=m.get("url") or None,
                               source=m.get("source", ""), paragraph=m["paragraph"],
                               text=cat.texts[h.pos], score=round(float(h.score), 6)))
        return out

    def extractive(self, question: str, lang: str, result: SearchResult, standalone: str) -> Answer:
        """Compose the offline answer: chosen sentences, each followed by its [n]."""
        t = time.perf_counter()
        contexts = self.contexts(result)
        ans = Answer(question=question, language=lang, answer="", contexts=contexts, mode="extractive",
                     timings_ms=dict(result.timings_ms), standalone_question=standalone)
        if not self.is_relevant(result, standalone):
            ans.answer, ans.refused = REFUSAL[lang], True
            return ans
        top = contexts[: min(4, len(contexts))]
        best = result.hits[0].score or 1.0
        priors = [h.score / best for h in result.hits[: len(top)]]
        picks = pick_sentences([c.text for c in top], result.query_terms, priors)
        numbers: dict[int, int] = {}
        parts = []
        for p in picks:
            n = numbers.setdefault(p.passage, len(numbers) + 1)
            parts.append(f"{p.text} [{n}]")
        src_langs = [self.searcher().store.catalog.metas[result.hits[i].pos].get("lang") for i in numbers]
        intro = frame(lang, src_langs[0]) if src_langs and all(s == src_langs[0] for s in src_langs) else ""
        body = " ".join(parts)
        ans.answer = f"{intro}\n{body}" if intro else body
        for i, n in sorted(numbers.items(), key=lambda kv: kv[1]):
            c = top[i]
            c.n = n
            ans.citations.append(Citation(n=n, article_id=c.article_id, title=c.title, date=c.date,
                                          url=c.url, source=c.source, paragraph=c.paragraph, text=c.text))
        ans.timings_ms["compose"] = round((time.perf_counter() - t) * 1000, 2)
        return ans

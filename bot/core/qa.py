"""The question → answer service every channel calls: `QA.answer(...)` returns an `Answer`."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.chain import AnswerChain

import logging
import math
import re
import threading
import time
from collections.abc import Iterator

from bot.core.dates import parse_user_date
from bot.core.extractive import REFUSAL, frame, pick_sentences, quote_passage
from bot.core.followup import Followup, rewrite_followup
from bot.core.keywords import name_like
from bot.core.relevance import (
    DENSE_WITH_NAMES,
    EN_ARTICLE_LEAD,
    EN_BIAS,
    EN_DENSE_LONG,
    EN_DENSE_WITH_COUNTERPART,
    EN_DENSE_WITH_LEAD,
    EN_DENSE_WITH_NAMES,
    EN_DENSE_WITH_WORDS,
    EN_IDF_COVERAGE,
    EN_SAME_DENSE,
    EN_SAME_DENSE_WITH_WORDS,
    EN_SAME_IDF_COVERAGE,
    EN_WEIGHTS,
    FA_CROSS_BAR,
    FA_CROSS_SPARSE_WEIGHT,
    FA_DENSE,
    FA_DENSE_WITH_WORDS,
    FA_IDF_COVERAGE,
    SHORT_SHARE,
    SPARSE_PASSAGES,
    english_top,
    first_positive,
    only_names_asked,
    short_share,
    signal_view,
)
from bot.core.retrieval import HybridSearcher, SearchOptions, SearchResult
from bot.core.retriever import HybridRetriever
from bot.core.schema import Answer, Citation, Context
from bot.core.selection import article_lead
from bot.core.topic import own_or_borrowed
from bot.core.warming import InFlight, LatentWarmer
from bot.errors import EmptyDateRange, EmptyQuestion, NoWords, QuestionTooLong
from bot.settings import Settings
from index.embeddings import VectorEmbeddings, build_embedder
from index.errors import IndexMissing
from index.language import detect_language
from index.normalizer import tokenize
from index.store import PassageStore

log = logging.getLogger(__name__)

# control characters, and the bidi embeddings/overrides/isolates that would reorder an echoed question
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffd\u202a-\u202e\u2066-\u2069]")
_WORDY = re.compile(r"[^\W_]", re.UNICODE)

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
                 embedder: VectorEmbeddings | None = None, chain: AnswerChain | None = None):
        self.settings = settings
        self.embedder = embedder or (store.embedder if store else build_embedder(settings.embedder,
                                                                                  settings.embed_threads))
        self._store: PassageStore | None = store
        self._searcher: HybridSearcher | None = HybridSearcher(store) if store else None
        self._lock = threading.Lock()  # only around opening the store; never held during a refresh
        self._checked = time.monotonic()
        self._refreshing: threading.Thread | None = None
        self.chain = chain  # the LLM chain (bot.core.chain), None for extractive only
        self.inflight = InFlight()  # background warming waits while questions are answered
        self._warming: threading.Thread | None = None
        self._warmer = LatentWarmer(lambda: self._store, self.inflight, max(settings.refresh_seconds, 1.0) * 6)

    # ---- index access ---------------------------------------------------------------------------
    def store(self) -> PassageStore:
        """The open store; opened on first use. Every `refresh_seconds` a background thread applies
        what other processes committed and swaps the new snapshot in: a request never waits for it."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    store = PassageStore(self.settings, self.embedder)
                    self._searcher = HybridSearcher(store)
                    self._store = store
        opened = self._store
        if time.monotonic() - self._checked > self.settings.refresh_seconds:
            with self._lock:
                if time.monotonic() - self._checked > self.settings.refresh_seconds and \
                        (self._refreshing is None or not self._refreshing.is_alive()):
                    self._checked = time.monotonic()
                    self._refreshing = threading.Thread(target=self._refresh, name="khabar-refresh", daemon=True)
                    self._refreshing.start()
        return opened

    def _refresh(self) -> None:
        try:
            if self._store is not None:
                self._store.refresh()
        finally:
            self._checked = time.monotonic()  # the next check counts from the end of this one

    def warm(self) -> threading.Thread:
        """In the background: open the index and read what the first question would wait for (the
        vector matrix, 0.5 s at 13k passages; the English bank's mean), so a server answers its first
        question at full speed; then (`latent_warm`) keep every passage's latent terms on disk, in
        another thread that runs until `close`. An index that does not exist yet is simply opened later."""
        def run() -> None:
            try:
                self.searcher().warm()
            except Exception as exc:  # noqa: BLE001 - nothing indexed yet, server down: the first question retries
                log.info("could not warm the index yet: %s", exc)  # servers log to the console: no traceback
                log.debug("warming failed", exc_info=True)
            if self.settings.latent_warm:
                try:
                    self._warmer.start()
                except RuntimeError as exc:  # no thread to be had (a process at its limit): questions compute the terms
                    log.warning("latent terms are not warmed in the background: %s", exc)

        thread = threading.Thread(target=run, name="khabar-warm", daemon=True)
        thread.start()
        self._warming = thread
        return thread

    def close(self, timeout: float = 30.0) -> None:
        """Stop the background work (warming, latent-term warming) and wait up to `timeout` s for it to end."""
        end = time.monotonic() + timeout
        self._warmer.close(timeout)  # first: a warming still under way then starts no latent thread
        if self._warming is not None:  # a server stopping at once must not exit while it opens the index
            self._warming.join(max(0.0, end - time.monotonic()))

    def searcher(self) -> HybridSearcher:
        """The searcher over the current store."""
        self.store()
        assert self._searcher is not None  # store() opened it
        return self._searcher

    def stats(self) -> dict:
        """Index size, embedder and mode, for health checks and /sources."""
        try:
            store = self.store()
        except IndexMissing:
            return {"articles": 0, "passages": 0, "embedder": self.embedder.name, "languages": {},
                    "date_range": [None, None], "llm": self.settings.llm}
        snap = store.snapshot()
        if "stats" not in snap.cache:  # health checks poll this: summarize each snapshot once
            arts = snap.articles()
            langs: dict[str, int] = {}
            for a in arts.values():
                langs[a.lang] = langs.get(a.lang, 0) + 1
            dates = sorted(a.date for a in arts.values() if a.date)
            snap.cache["stats"] = (len(arts), langs, dates[:1] + dates[-1:])
        n_articles, langs, dates = snap.cache["stats"]
        return {"articles": n_articles, "passages": snap.n_alive, "embedder": self.embedder.name,
                "languages": langs, "date_range": [dates[0] if dates else None, dates[-1] if dates else None],
                "llm": self.settings.llm}

    # ---- answering ------------------------------------------------------------------------------
    def retriever(self, k: int | None = None, since: str | None = None, until: str | None = None,
                  primary: str | None = None, more: bool = False) -> HybridRetriever:
        """The hybrid search with the configured options, as a LangChain retriever (`primary`: a
        follow-up's own words; `more`: "What else…?", so the best article may fill every slot with its
        other paragraphs); with an LLM, an English question is also searched in the model's Persian
        rendering (`AnswerChain.search_terms`)."""
        k = k or self.settings.top_k
        since, until = parse_user_date(since), parse_user_date(until)
        if since and until and since > until:
            raise EmptyDateRange(since, until)
        opts = SearchOptions(k=k, per_article=k if more else self.settings.per_article_cap,
                             per_article_crosslingual=self.settings.per_article_cap_crosslingual,
                             english_centering=self.settings.english_centering,
                             since=since, until=until,
                             recency=self.settings.recency, primary=primary)
        searcher = self.searcher()
        if not searcher.store.snapshot().n_alive:
            raise IndexMissing(str(self.settings.data_dir))
        expand = self.chain.search_terms if self.chain is not None else None
        return HybridRetriever(searcher=searcher, options=opts, expand=expand)

    def retrieve(self, question: str, k: int | None = None, since: str | None = None,
                 until: str | None = None, primary: str | None = None, more: bool = False) -> SearchResult:
        """Hybrid search with the configured options (see `retriever`)."""
        return self.retriever(k, since, until, primary, more).search(question)

    def answer(self, question: str, history: list[tuple[str, str]] | None = None, lang: str | None = None,
               *, k: int | None = None, since: str | None = None, until: str | None = None) -> Answer:
        """Answer `question` from the index in its language, citing the source paragraphs."""
        final = None
        for item in self.stream_answer(question, history, lang, k=k, since=since, until=until):
            if isinstance(item, Answer):
                final = item
        if final is None:  # stream_answer always ends with its Answer
            raise RuntimeError("the answer stream ended without an answer")
        return final

    def stream_answer(self, question: str, history: list[tuple[str, str]] | None = None,
                      lang: str | None = None, *, k: int | None = None, since: str | None = None,
                      until: str | None = None) -> Iterator[str | Answer]:
        """Yield answer text chunks, then the final checked `Answer`."""
        with self.inflight.question():
            yield from self._stream_answer(question, history, lang, k=k, since=since, until=until)

    def _stream_answer(self, question: str, history: list[tuple[str, str]] | None, lang: str | None, *,
                       k: int | None, since: str | None, until: str | None) -> Iterator[str | Answer]:
        t0 = time.perf_counter()
        q = clean_question(question, self.settings.max_question_chars)
        lang = lang if lang in ("fa", "en") else detect_language(q)
        follow = self.followup(q, history, lang)
        standalone = follow.standalone
        retriever = self.retriever(k, since, until, primary=follow.primary, more=bool(follow.said))
        if self.chain is not None:  # the LangChain retrieval chain: retriever → prompt → model → checks
            yield from self.chain.stream(self, q, standalone, lang, retriever, history, t0)
            return
        result = retriever.search(standalone)
        if follow.orphan:
            result.relevant[standalone] = False
        elif follow.primary is not None:
            result, standalone = own_or_borrowed(self, result, standalone, follow.primary, k, since, until)
        ans = self.extractive(q, lang, result, standalone, avoid=follow.said)
        ans.timings_ms["total"] = round((time.perf_counter() - t0) * 1000, 2)
        # stream claim by claim (each ends at its [n] marker or a line end), as the LLM path streams
        yield from re.findall(r".+?(?:\]\s*|\n|$)", ans.answer, flags=re.S)
        yield ans

    def rewrite(self, question: str, history: list[tuple[str, str]] | None, lang: str) -> str:
        """A follow-up becomes standalone: LLM rewrite when configured, else the previous question's
        key terms are added to a short question (bot/core/followup.py)."""
        return self.followup(question, history, lang).standalone

    def followup(self, question: str, history: list[tuple[str, str]] | None, lang: str) -> Followup:
        """The standalone question to search, and the follow-up's own words when others were added."""
        if not history:
            return Followup(question)
        if self.chain is not None:
            standalone = self.chain.rewrite(question, history, lang)
            return Followup(standalone, question if standalone != question else None)
        return rewrite_followup(question, history)

    def relevance(self, result: SearchResult, question: str, sparse: bool = True) -> dict[str, float]:
        """The signals refusal is decided on: the best dense similarity (overall and among passages
        of real length), whether a name of the question (in the other script) is in the top passages
        (transliterated, or as its nearest index word of the other language), how far the best
        article leads the next one, how much of the question's keyword weight (plain and
        IDF-weighted) the top passages contain, and (English, unless `sparse` is False) the best cosine
        of its sparse latent terms with the top passages' (-1: not computed, or no sparse head). Kept on
        the result: asked twice (the LLM path, then its quoted fallback), computed once."""
        out = result.signals.get(question) or self._signals(result, question)
        result.signals[question] = out
        if sparse and out["sparse"] < 0 and result.hits and detect_language(question) == "en":
            cosines = self._sparse_cosines(result, question)
            out["sparse"] = max(cosines, default=-1.0) if cosines is not None else -1.0
        return dict(out)

    def _sparse_cosines(self, result: SearchResult, question: str) -> Iterator[float] | None:
        """Cosines of the question's sparse latent terms with each top signal passage's, computed as
        they are read (an encoder pass each); None when the embedder has no sparse head."""
        q = self.embedder.sparse_vectors([question])
        if q is None:
            return None
        texts = [result.snap.text(h.pos) for h in signal_view(result)[:SPARSE_PASSAGES]]
        keep = self.store().latents  # passages' terms kept on disk (`warm_latents`), questions' never
        return (float((p @ q[0])[0]) if (p := self.embedder.sparse_vectors([t], keep)) is not None else -1.0
                for t in texts)

    def _signals(self, result: SearchResult, question: str) -> dict[str, float]:
        out = {"dense": result.top_dense, "dense_long": result.top_dense_long, "names": 0.0,
               "counterpart_names": 0.0, "own_names": 0.0, "short_share": 1.0, "lead": 0.0, "coverage": 0.0, "idf_coverage": 0.0,
               "sparse": -1.0}
        if not result.hits:
            return out
        snap = result.snap
        view = signal_view(result)
        seen: set[str] = set()
        texts = [snap.text(h.pos) for h in view[:3]]
        for text in texts:
            seen |= set(tokenize(text))
        named = set(seen)
        for h in view[3:5]:
            named |= set(tokenize(snap.text(h.pos)))
        lex = snap.lexical
        asked = name_like(question)
        names = lex.transliterations(asked)
        out["names"] = float(any(c in named for cands in names.values() for c in cands))
        near = result.counterparts
        out["counterpart_names"] = float(any(n in named or (near.get(n) and near[n][0][0] in named) for n in asked))
        lead = result.article_lead
        out["lead"] = lead if lead is not None else article_lead(result.hits, snap.article_idx)
        toks = {w for w in tokenize(question) if " " not in w}
        out["own_names"] = float(only_names_asked(question, seen, texts))
        out["short_share"] = short_share(question, texts)
        if toks:
            out["coverage"] = len(toks & seen) / len(toks)
            n = max(lex.n_alive, 1)
            idf = {t: math.log(1 + n / (1 + lex.df(t))) for t in toks}
            out["idf_coverage"] = sum(v for t, v in idf.items() if t in seen) / (sum(idf.values()) or 1.0)
        return out

    def is_relevant(self, result: SearchResult, question: str) -> bool:
        """Whether the retrieved passages are about the question (else the answer is a refusal)."""
        if not result.hits:
            return False
        if question not in result.relevant:
            result.relevant[question] = self._decide(result, question)
        return result.relevant[question]

    def _decide(self, result: SearchResult, question: str) -> bool:
        sig = self.relevance(result, question, sparse=False)
        d = sig["dense"]
        if detect_language(question) == "fa":
            lifted = result.top_dense_lifted
            if lifted is not None and self.embedder.has_sparse and english_top(result):
                cosines = self._sparse_cosines(result, question)
                if cosines is not None:
                    return first_positive(lifted - FA_CROSS_BAR, FA_CROSS_SPARSE_WEIGHT, cosines)[0]
            return d >= FA_DENSE or (d >= FA_DENSE_WITH_WORDS and sig["idf_coverage"] >= FA_IDF_COVERAGE) \
                or (d >= DENSE_WITH_NAMES and bool(sig["names"]))
        if self.embedder.has_sparse and english_top(result):
            # English news: the rules below are set on English over Persian news
            # (the name rule reads the question's words, not their share of its IDF: "Karaj: what happened
            # there?" is all names and generic words, which the share counts against it)
            if sig["short_share"] < SHORT_SHARE and not result.followup:
                # a terse question whose asked detail is not in the passages (a follow-up carries its story's
                # words, which the passages need not all hold: "And the cost?" after "Gelian Dam capacity?")
                return False
            return d >= EN_SAME_DENSE or (d >= DENSE_WITH_NAMES and bool(sig["own_names"])) \
                or (d >= EN_SAME_DENSE_WITH_WORDS and sig["idf_coverage"] >= EN_SAME_IDF_COVERAGE)
        if d >= EN_DENSE_WITH_WORDS and sig["idf_coverage"] >= EN_IDF_COVERAGE:
            return True  # English news: the question's own keywords
        fitted = self._fitted_rule(result, question, sig)
        if fitted is not None:
            return fitted
        long_ = sig["dense_long"]
        named, near = bool(sig["names"]), bool(sig["counterpart_names"])
        return long_ >= EN_DENSE_LONG or (d >= EN_DENSE_WITH_NAMES and named) \
            or (d >= DENSE_WITH_NAMES and named and near) \
            or (long_ >= EN_DENSE_WITH_COUNTERPART and near) \
            or (long_ >= EN_DENSE_WITH_LEAD and sig["lead"] >= EN_ARTICLE_LEAD)

    def _fitted_rule(self, result: SearchResult, question: str, sig: dict[str, float]) -> bool | None:
        """EN_WEIGHTS · signals + EN_BIAS > 0, the sparse signal read one top passage at a time
        (`first_positive`); None when the embedder has no sparse head."""
        if not self.embedder.has_sparse:
            return None
        base = sum(w * sig[f] for f, w in EN_WEIGHTS.items() if f != "sparse") + EN_BIAS
        if base > 0:
            return True  # latent-term codes are ReLU outputs: the cosine is at least 0, nothing to read
        cosines = self._sparse_cosines(result, question)
        if cosines is None:
            return None
        decided, best, read = first_positive(base, EN_WEIGHTS["sparse"], cosines)
        if read == len(signal_view(result)[:SPARSE_PASSAGES]):  # all read: the signal itself, for `relevance`
            result.signals[question]["sparse"] = best
        return decided

    def contexts(self, result: SearchResult) -> list[Context]:
        """The retrieved passages as Context records (n filled in once cited)."""
        snap = result.snap
        out = []
        for h in result.hits:
            m = snap.passage(h.pos)
            out.append(Context(n=None, article_id=m.article_id, title=m.title, date=m.date or None,
                               url=m.url or None, source=m.source, paragraph=m.paragraph,
                               text=snap.text(h.pos), score=round(float(h.score), 6)))
        return out

    def extractive(self, question: str, lang: str, result: SearchResult, standalone: str,
                   avoid: str = "", focus: bool = False) -> Answer:
        """Compose the offline answer: chosen sentences, each followed by its [n] (sentences in
        `avoid`, already given in the conversation, only when nothing else is left). `focus` (the
        LLM's quoted fallback): quote only retrieval's first passage, see `extractive.quote_passage`."""
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
        picks = []
        if avoid:  # "What else…?": more of the top article, not what was said, nor other articles
            same = [i for i, c in enumerate(top) if c.article_id == top[0].article_id]
            picks = [p for p in pick_sentences([top[i].text for i in same], result.query_terms,
                                               [priors[i] for i in same], avoid) if p.text.strip() not in avoid]
            for p in picks:
                p.passage = same[p.passage]
        if focus and not picks:
            picks = quote_passage([c.text for c in top], result.query_terms)
        picks = picks or pick_sentences([c.text for c in top], result.query_terms, priors)
        numbers: dict[int, int] = {}
        parts = []
        for p in picks:
            n = numbers.setdefault(p.passage, len(numbers) + 1)
            parts.append(f"{p.text} [{n}]")
        src_langs = [result.snap.passage(result.hits[i].pos).lang for i in numbers]
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

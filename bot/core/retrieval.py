"""Hybrid retrieval: dense (Chroma, E5 `query:`) + BM25 with cross-lingual feedback, fused and capped."""
from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from importlib import resources

import numpy as np

from bot.core.answertype import asks_quantity, counted_words
from bot.core.bonuses import asks_who, boosted_scores
from bot.core.dates import date_where, passage_ages
from bot.core.fusion import Ranked, article_first, fuse
from bot.core.keywords import (
    expand_terms,
    expansion_words,
    feedback_terms,
    keyword_scores,
    name_like,
    spelled_in_persian,
    top_scores,
)
from bot.core.options import Hit, SearchOptions, SearchResult
from bot.core.selection import article_lead, cap_per_article, other_language_articles, select_hits
from index.dictionary import Dictionaries
from index.language import detect_language
from index.normalizer import tokenize
from index.snapshot import Snapshot
from index.store import PassageStore

SIGNAL_K = 5  # passages the refusal signals read (SearchResult.signal_hits)
WORD_CACHE = 50_000  # English word vectors kept (about 1.5 KB each)
MAX_LIFT = 0.15  # never lift the other language by more than this (a question of names and digits)
Lift = tuple[np.ndarray, float]  # per position: in the other language than the question; the gain


class HybridSearcher:
    """Searches a PassageStore's current snapshot; each search reads one snapshot from start to end."""

    def __init__(self, store: PassageStore):
        self.store = store
        # least recently used first; a server's threads share it (the lock: evicting while another reads)
        self._word_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._word_lock = threading.Lock()
        self._english_mean: np.ndarray | None = None  # computed on the first English question
        self._mean_lock = threading.Lock()
        self._dictionary = Dictionaries(store.settings.dictionary)  # opened on the first English question

    def search(self, query: str, opts: SearchOptions | None = None) -> SearchResult:
        """Return the top passages for `query` under `opts`."""
        opts = opts or SearchOptions()
        timings: dict[str, float] = {}
        snap = self.store.snapshot()
        dates, ages = snap.date_num, passage_ages(snap)
        if snap.n_alive == 0:
            return SearchResult([], snap=snap)
        mask = snap.alive.copy()
        lo = int(opts.since.replace("-", "")) if opts.since else None
        hi = int(opts.until.replace("-", "")) if opts.until else None
        if lo:
            mask &= dates >= lo
        if hi:
            mask &= (dates <= hi) & (dates > 0)
        where = date_where(lo, hi)

        english = detect_language(query) == "en"
        names = snap.lexical.transliterations(name_like(query)) \
            if opts.transliterate and opts.mode in ("hybrid", "bm25") else {}
        dense: list[tuple[int, float]] = []
        lift: Lift | None = None  # the other language's passages and what their similarity gains
        signals: list[tuple[int, float]] = []  # the plain query's dense list, read by the refusal signals
        qvec: np.ndarray | None = None
        rvec: np.ndarray | None = None  # the vector passages are ranked by (centered for English)
        if opts.mode in ("hybrid", "dense") or (opts.crosslingual and opts.mode == "hybrid"):
            t = time.perf_counter()
            spelled = spelled_in_persian(query, names) \
                if english and opts.names_weight and opts.mode == "hybrid" else query
            # the question, its Persian-spelled names and the words expand_terms will look up, in one
            # encoder batch (each call has its overhead: 58 ms for the three against 76 one by one)
            words_ = [w for w in expansion_words(query) if w not in self._word_cache] \
                if english and opts.word_terms and opts.mode == "hybrid" else []
            texts = [query] + ([spelled] if spelled != query else []) + words_
            vecs = self.store.embedder.encode_queries(texts) if len(texts) > 1 else None
            if vecs is None:
                qvec = rvec = self.store.embedder.encode_query(query)
            else:
                qvec = rvec = np.asarray(vecs[0], dtype=np.float32)
                if spelled != query:
                    rvec = self._with_names(qvec, vecs[1], opts.names_weight)
                self._cache_words(words_, list(vecs[len(texts) - len(words_):]))
            if english and opts.english_centering:
                rvec = self._centered(rvec, opts.english_centering)
            timings["embed"] = elapsed_ms(t)
        if qvec is not None and rvec is not None and opts.mode in ("hybrid", "dense"):
            t = time.perf_counter()
            # the refusal signals read the plain question's own list: their thresholds were calibrated on
            # it (not on centered similarities, nor on an LLM rendering merged in below)
            lift = self._lift(snap, rvec, english, opts)
            dense = signals = self._dense(rvec, opts, mask, where, snap, lift)
            if rvec is not qvec:
                signals = self._dense(qvec, opts, mask, where, snap, lift)
            timings["dense"] = elapsed_ms(t)

        own = set(tokenize(opts.primary)) if opts.primary else None
        counterparts: dict[str, list[tuple[str, float]]] = {}
        weights = {tok: 1.0 if own is None or tok in own else opts.carried_weight for tok in tokenize(query)}
        lexical: list[tuple[int, float]] = []
        scores = None
        if opts.mode in ("hybrid", "bm25"):
            t = time.perf_counter()
            if opts.transliterate:
                for word, cands in names.items():
                    # a follow-up's own names lead ("What about Rasht?"); carried ones weigh less
                    base = 0.8 if own is None else 1.6 if word in own else 0.8 * opts.carried_weight
                    for c in cands:
                        weights.setdefault(c, base / len(cands) ** 0.5)
            if qvec is not None and opts.mode == "hybrid":
                counterparts = expand_terms(weights, qvec, query, opts, snap, self._word_vectors)
            if opts.feedback and dense and opts.mode == "hybrid":
                weights = feedback_terms(weights, [p for p, _ in dense[: opts.feedback_docs]], opts, snap)
            scores = keyword_scores(weights, mask, snap, self._by_language(english, opts))
            lexical = top_scores(scores, opts.depth)
            timings["bm25"] = elapsed_ms(t)

        extra: dict[int, float] = {}
        if opts.complete_dense and rvec is not None and lexical and opts.mode == "hybrid":
            t = time.perf_counter()
            have = {p for p, _ in dense}
            missing = [p for p, _ in lexical if p not in have]
            extra = {p: self._penalized(s, p, opts, snap, lift)
                     for p, s in self.store.similarities(snap, rvec, missing).items()}
            timings["dense_complete"] = elapsed_ms(t)
        if rvec is not None and opts.alt_queries and opts.mode == "hybrid":
            t = time.perf_counter()
            dense, lexical, extra = self._merge_alt_queries(rvec, dense, lexical, extra, weights, opts, mask, where,
                                                            snap)
            timings["alt_queries"] = elapsed_ms(t)
        if opts.lexical_weight_en != opts.lexical_weight and english:
            opts = replace(opts, lexical_weight=opts.lexical_weight_en)
        t = time.perf_counter()
        hits, norm = fuse(dense, lexical, opts, extra, ages)
        timings["fuse"] = elapsed_ms(t)
        if opts.paragraph_stage and opts.mode == "hybrid" and hits and rvec is not None:
            t = time.perf_counter()
            # a follow-up asks what its own words ask ("who was the governor?" after "how many…?")
            bonus = opts.quantity_bonus if opts.quantity_bonus and asks_quantity(opts.primary or query) else 0.0
            named = counted_words(opts.primary or query) if bonus and opts.unit_bonus else []
            # an English question's counted words in Persian too: their nearest index words
            units = set(named) | {c for w in named for c, _ in counterparts.get(w, [])}
            # the refusal signals read `plain`, the order they were calibrated on: without the answer-type
            # bonus, which picks the answering paragraph, not whether any passage is about the question
            terms = self.translations(opts.primary or query) if english and opts.detail_weight else []
            plain, ranked = self._paragraphs(english, hits, rvec, scores, mask, norm, opts, snap, query, bonus,
                                             units, terms, lift)
            timings["paragraphs"] = elapsed_ms(t)
            lead = article_lead(plain, snap.article_idx)
            view = select_hits(plain, snap.article_idx, replace(opts, k=SIGNAL_K, per_article=opts.signal_per_article,
                                                                 dominant_cap=opts.signal_dominant_cap))
            hits = select_hits(ranked, snap.article_idx, opts, other_language_articles(ranked, snap, english))
        else:
            lead = article_lead(hits, snap.article_idx)
            view = cap_per_article(hits, snap.article_idx, opts.signal_per_article, SIGNAL_K)
            hits = cap_per_article(hits, snap.article_idx, opts.per_article, opts.k,
                                   other_language_articles(hits, snap, english), opts.per_article_crosslingual)
        top, lifted = (signals[0][1] if signals else 0.0), None
        if lift is not None and signals:  # refusal's Persian rules read the plain similarity
            lifted, top = top, max(s - (lift[1] if lift[0][p] else 0.0) for p, s in signals)
        margin = signals[0][1] - signals[-1][1] if len(signals) >= 2 else 0.0
        long_ = max((s for p, s in signals if snap.lengths[p] >= opts.short_words), default=0.0)
        return SearchResult(hits, weights, top, margin, timings, snap, top_dense_lifted=lifted,
                            top_dense_long=long_, counterparts=counterparts, article_lead=lead, signal_hits=view,
                            followup=opts.primary is not None)

    def _dense(self, vector: np.ndarray, opts: SearchOptions, mask: np.ndarray, where: dict | None,
               snap: Snapshot, lift: Lift | None = None) -> Ranked:
        """Dense candidates for `vector`: very short passages lowered, the other language's lifted
        (`lift`: searched apart too, as they may all lie below the same language's first `dense_pool`),
        filtered passages dropped."""
        n = max(opts.depth, opts.dense_pool if opts.short_penalty or lift else 0)
        pool = self.store.dense_search(snap, vector, n, where, mask)
        if lift is not None and not lift[0][mask].all():  # English news alone: one search finds them all
            pool = list(dict(pool + self.store.dense_search(snap, vector, n, where, mask & lift[0])).items())
        if opts.short_penalty or lift is not None:
            pool = sorted(((p, self._penalized(s, p, opts, snap, lift)) for p, s in pool), key=lambda x: -x[1])
        return [(p, s) for p, s in pool if mask[p]][: opts.depth]

    @staticmethod
    def _by_language(english: bool, opts: SearchOptions) -> int:
        """`keyword_scores`' by_language: for English questions, the passages each language needs (0 = off)."""
        return max(1, opts.language_min) if opts.language_idf and english else 0

    def _language_means(self, snap: Snapshot) -> tuple | None:
        """((mean vector, count) of the English passages, of the others), once per snapshot; None on Chroma's
        approximate path (no matrix)."""
        means = snap.cache.get("language_means")
        if means is None:
            en = snap.english()
            means = snap.cache.setdefault("language_means", (self.store.mean_vector(snap, en),
                                                             self.store.mean_vector(snap, ~en)))
        return None if means[0] is None or means[1] is None else means

    def _lift(self, snap: Snapshot, vector: np.ndarray | None, english: bool, opts: SearchOptions) -> Lift | None:
        """For a Persian question: the English passages and how much their dense similarity gains — the
        question's mean similarity to the Persian passages minus its mean to the English ones (the mean
        unit vectors of both, once per snapshot), × `opts.language_shift`: what the encoder gives a
        same-language pair, not relevance. None for English questions, when off, or with no English passage;
        when either language has fewer than `opts.language_min` live passages (English news alone, a handful of
        English articles), the typical gap `opts.language_gap` instead (on Chroma's approximate path too, where
        the English passages are not searched apart); None on that path when both languages have enough passages
        (no matrix for the means)."""
        if not opts.language_shift or vector is None or english:
            # English questions: centered and refused by their own calibration (lifting Persian passages
            # for them measured +0.01 paragraph hit@1 with 40 English articles beside Fars News, and let a
            # follow-up that points at no story be answered from a Persian one in the samples)
            return None
        least = max(1, opts.language_min)
        english_count, other_count = snap.language_counts()
        if not english_count:  # no English news to lift
            return None
        if min(english_count, other_count) < least:
            # too few passages of a language for a mean (English news alone: no Persian passage to measure the
            # question's gap against), so the typical gap — the scale the cross-language refusal rule was set on
            gain = opts.language_gap * opts.language_shift
            return (snap.english(), gain) if gain > 0 else None
        means = self._language_means(snap)
        if means is None:  # Chroma's approximate path: no matrix for the means, nor a search within a language
            return None
        en_mean, fa_mean = means
        v = np.asarray(vector, np.float32)
        gap = float(v @ (fa_mean[0] - en_mean[0])) / (float(np.linalg.norm(v)) or 1.0)
        gain = min(max(gap, 0.0), MAX_LIFT) * opts.language_shift
        return (snap.english(), gain) if gain > 0 else None

    def warm(self) -> None:
        """Read and compute what the first question would wait for: the vector matrix of the current
        snapshot and the English question bank's mean vector (a serving process calls this at start)."""
        self.store.warm()
        self._english_bank_mean()

    def _english_bank_mean(self) -> np.ndarray:
        if self._english_mean is None:
            with self._mean_lock:  # web workers' threads: encode the bank once
                if self._english_mean is None:
                    self._english_mean = self.store.embedder.encode_queries(english_questions()).mean(axis=0)
        return self._english_mean

    @staticmethod
    def _with_names(qvec: np.ndarray, svec: np.ndarray, weight: float) -> np.ndarray:
        """`qvec` plus `weight` × `svec` (the question with its names in Persian spelling), renormalized.
        fars_qa_dev tuning half + fars_qa_tune (104 English questions): article hit@1 0.79 → 0.83, paragraph
        hit@1 0.625 → 0.644 (0.635–0.644 at 0.25–1.0); held out (fars_qa_dev held-out half + the fresh set,
        94): article@1 0.85 → 0.87, paragraph@1 0.649 → 0.691."""
        v = np.asarray(qvec, dtype=np.float32) + weight * np.asarray(svec, dtype=np.float32)
        return (v / (np.linalg.norm(v) or 1.0)).astype(np.float32)

    def _centered(self, qvec: np.ndarray, weight: float) -> np.ndarray:
        """`qvec` minus `weight` × the mean vector of generic English questions, renormalized.

        What every English question shares (its language, its being a question) pulls it towards the
        same passages whatever it asks — one-line headlines and lists across a mostly Persian index;
        removing that shared direction leaves what this question asks (measured on fars_qa_dev, dense
        alone, weight 0.5: English paragraph hit@1 0.26 → 0.46 tuning half, 0.34 → 0.48 held-out;
        Persian questions lose with the same treatment, so only English is centered)."""
        v = np.asarray(qvec, dtype=np.float32) - weight * self._english_bank_mean()
        return (v / (np.linalg.norm(v) or 1.0)).astype(np.float32)

    # ---- alternative renderings (SearchOptions.alt_queries): one self-contained step ----------------
    def _merge_alt_queries(self, qvec: np.ndarray, dense: Ranked, lexical: Ranked, extra: dict[int, float],
                           weights: dict[str, float], opts: SearchOptions, mask: np.ndarray, where: dict | None,
                           snap: Snapshot) -> tuple[Ranked, Ranked, dict[int, float]]:
        """Search every alternative rendering (dense + BM25) and merge its candidates into the
        original lists: per candidate the best min-max-normalized score across renderings, mapped
        back onto the original query's scale so the fusion weights keep their meaning."""
        d_lists = [(qvec, dense, 1.0)]
        l_lists = [(lexical, 1.0)]
        for alt in opts.alt_queries:
            avec = self.store.embedder.encode_query(alt)
            d_lists.append((avec, self._dense(avec, opts, mask, where, snap), opts.alt_weight))
            aw = {tok: 1.0 for tok in tokenize(alt)}
            if opts.transliterate:
                for _, cands in snap.lexical.transliterations(name_like(alt)).items():
                    for c in cands:
                        aw.setdefault(c, 0.8 / len(cands) ** 0.5)
            scores = keyword_scores(aw, mask, snap, self._by_language(detect_language(alt) == "en", opts))
            l_lists.append((top_scores(scores, opts.depth), opts.alt_weight))
            for tok, w in aw.items():  # the answer step weighs sentences by these terms too
                weights.setdefault(tok, 0.8 * w)

        def span(vals: list[float]) -> tuple[float, float]:
            lo, hi = min(vals, default=0.0), max(vals, default=1.0)
            return lo, (hi - lo) or 1.0

        d_lo, d_span = span([s for _, s in dense] + list(extra.values()))
        best: dict[int, float] = {}
        for _vec, lst, w in d_lists:
            lo, width = span([s for _, s in lst])
            for p, s in lst:
                best[p] = max(best.get(p, 0.0), w * (s - lo) / width)
        new_dense = sorted(((p, d_lo + v * d_span) for p, v in best.items()), key=lambda x: -x[1])
        l_max = max((s for _, s in lexical), default=0.0) or 1.0
        lbest: dict[int, float] = {}
        for lst, w in l_lists:
            top = max((s for _, s in lst), default=0.0) or 1.0
            for p, s in lst:
                lbest[p] = max(lbest.get(p, 0.0), w * s / top)
        new_lexical = sorted(((p, v * l_max) for p, v in lbest.items()), key=lambda x: -x[1])
        # keyword-only candidates get their best dense similarity across renderings
        have = set(best)
        missing = [p for p, _ in new_lexical if p not in have]
        new_extra: dict[int, float] = {}
        if missing and opts.complete_dense:
            for vec, lst, w in d_lists:
                lo, width = span([s for _, s in lst])
                for p, s in self.store.similarities(snap, vec, missing).items():
                    v = w * max(0.0, (self._penalized(s, p, opts, snap) - lo) / width)
                    new_extra[p] = max(new_extra.get(p, 0.0), d_lo + v * d_span)
        return new_dense, new_lexical, new_extra

    def _word_vectors(self, words_: list[str]) -> list[np.ndarray]:
        """Query-role vectors of single words, cached (questions share most of their words)."""
        with self._word_lock:
            got = {w: self._word_cache[w] for w in words_ if w in self._word_cache}
            for w in got:
                self._word_cache.move_to_end(w)
        missing = [w for w in dict.fromkeys(words_) if w not in got]
        if missing:
            fresh = dict(zip(missing, self.store.embedder.encode_queries(missing), strict=True))
            self._cache_words(list(fresh), list(fresh.values()))
            got.update(fresh)
        return [got[w] for w in words_]

    def _cache_words(self, words_: list[str], vectors: list[np.ndarray]) -> None:
        with self._word_lock:
            for w, v in zip(words_, vectors, strict=True):
                self._word_cache[w] = np.asarray(v, dtype=np.float32)
                self._word_cache.move_to_end(w)
            while len(self._word_cache) > WORD_CACHE:
                self._word_cache.popitem(last=False)

    def translations(self, question: str) -> list[tuple[str, list[str]]]:
        """The question's English words (and phrases) with their Persian translations ([] without the
        dictionary file)."""
        dictionary = self._dictionary.get()
        return dictionary.terms(question) if dictionary is not None else []

    def _paragraphs(self, english: bool, hits: list[Hit], qvec: np.ndarray | None, scores: np.ndarray | None,
                    mask: np.ndarray,
                    norm: tuple[float, float, float], opts: SearchOptions, snap: Snapshot,
                    query: str = "", bonus: float = 0.0, units: set[str] | None = None,
                    terms: list[tuple[str, list[str]]] | None = None, lift: Lift | None = None
                    ) -> tuple[list[Hit], list[Hit]]:
        """Rank the best articles by their evidence, then all of their paragraphs by the question.

        An article's score is its best candidate's fused score; each paragraph of the
        `article_pool` best articles gets the fused formula from its own dense similarity and BM25
        score — computed for every paragraph, candidate or not — with a weaker keyword weight for
        English questions (cross-lingual expansions are noisy inside one article). A passage's final
        score mixes the two (article first), so the right article wins first and the right paragraph
        within it second. Returns (plain, ranked): `ranked` also adds `bonus` to the paragraph score of
        those stating a number the question does not contain (it asks for one: `answertype.asks_quantity`),
        and `opts.unit_bonus` more when that number counts one of `units` (what the question counts), and
        up to `opts.detail_weight` for holding the translations of the question's rarer words (`terms`,
        bot/core/detail.py); without either both are the same list.
        (Measured and not kept: the best-sentence score, the neighbours' scores, an
        article's second passage, and article evidence spread over all its paragraphs, which lets
        long articles of headlines win; see README, retrieval.)
        """
        arts = snap.article_idx
        art_score: dict[int, float] = {}
        for h in hits:  # best first: an article's first hit is its best candidate
            art_score.setdefault(int(arts[h.pos]), h.score)
        order = sorted(art_score, key=lambda a: -art_score[a])
        pool = order[: opts.article_pool]
        top = art_score[pool[0]] or 1.0
        known = {h.pos: h for h in hits}
        positions = np.concatenate([np.arange(snap.art_start[a], snap.art_start[a] + snap.art_count[a])
                                    for a in pool]).astype(np.int64)
        positions = positions[mask[positions]]
        need = [int(p) for p in positions if p not in known or (known[p].dense_rank is None and not known[p].dense)]
        sims = self.store.similarities(snap, qvec, need) if need and qvec is not None else {}
        dmin, dmax, lmax = norm
        lw = opts.paragraph_lexical_en if english else opts.paragraph_lexical
        para: dict[int, Hit] = {}
        for p in positions:
            p = int(p)
            was = known.get(p)
            d = self._penalized(sims[p], p, opts, snap, lift) if p in sims else (was.dense if was else 0.0)
            lex = float(scores[p]) if scores is not None else (was.lexical if was else 0.0)
            dn = max(0.0, (d - dmin) / (dmax - dmin)) if dmax > dmin else 0.0
            para[p] = Hit(p, opts.dense_weight * dn + lw * lex / lmax, dense=d, lexical=lex,
                          dense_rank=was.dense_rank if was else None, lexical_rank=was.lexical_rank if was else None)
        score = {p: h.score for p, h in para.items()}
        plain = article_first(para, score, art_score, top, hits, opts.article_weight, arts)
        who = asks_who(english, opts.primary or query, opts)
        if not bonus and not terms and not who:
            return plain, plain
        boosted = boosted_scores(score, snap, arts, pool, english, opts.primary or query, query, opts, bonus,
                                 units or set(), terms or [], who, self._dictionary.get)
        return plain, article_first(para, boosted, art_score, top, hits, opts.article_weight, arts)

    def _penalized(self, sim: float, pos: int, opts: SearchOptions, snap: Snapshot, lift: Lift | None = None) -> float:
        short = max(0, opts.short_words - int(snap.lengths[pos])) / opts.short_words
        return sim - opts.short_penalty * short + (lift[1] if lift is not None and lift[0][pos] else 0.0)


@functools.cache
def english_questions() -> list[str]:
    """The generic English questions whose mean vector `english_centering` removes (package data)."""
    text = resources.files("bot.core").joinpath("data/english_questions.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def elapsed_ms(t: float) -> float:
    """Milliseconds since `t` (a perf_counter reading), rounded."""
    return round((time.perf_counter() - t) * 1000, 2)

"""The keyword side of retrieval: BM25 scores (body-less articles read with their title), the
question's name-like words, and the terms added to it (other-language words, pseudo-relevance feedback)."""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable

import numpy as np

from bot.core.options import SearchOptions
from index.language import detect_language
from index.normalizer import content_words, tokenize
from index.snapshot import Snapshot

# an article whose whole text is at most this many words (a dateline, a score line) is its title:
# keyword search reads the title for it, as the dense side embeds it with the title
BODYLESS_WORDS = 5


def name_like(query: str) -> list[str]:
    """Words that may be names worth transliterating: capitalized Latin words not opening the
    question (Tartus, Khaju), and every Persian word (Persian has no capitals; its Latin
    counterparts in an index are few)."""
    out = []
    for i, raw in enumerate(re.findall(r"[^\W\d_]+", query)):
        if raw.isascii():
            if raw[0].isupper() and (i > 0 or raw.isupper()) and len(raw) > 2:
                out.append(raw.lower())
        elif len(raw) > 2:
            out.extend(w for w in tokenize(raw) if " " not in w)
    return list(dict.fromkeys(out))


def spelled_in_persian(question: str, names: dict[str, list[str]]) -> str:
    """`question` with each transliterated name written as its likeliest Persian spelling ("What score
    did MP Mehdi Isazadeh…" → "What score did MP مهدی عیسیزاده…"), for an encoder that reads both scripts."""
    for name, spellings in names.items():
        if spellings:  # as a name is written, capitalized ("Mark", "IAEA"), not the common word ("mark")
            pattern = rf"\b{re.escape(name[:1].upper())}(?i:{re.escape(name[1:])})\b"
            # backslashes doubled: re.sub would read them as group references
            question = re.sub(pattern, spellings[0].replace("\\", "\\\\"), question)
    return question


def keyword_scores(weights: dict[str, float], mask: np.ndarray, snap: Snapshot, by_language: int = 0
                   ) -> np.ndarray:
    """BM25 of every passage for weighted query tokens; a body-less article's passage is scored on
    its title and text (`bodyless`); passages outside `mask` score 0; `by_language` > 0: `language_idf` with
    that many passages of each language."""
    if by_language:
        weights = language_idf(weights, snap, by_language)
    scores = snap.lexical.scores(weights)
    for p, tf in bodyless(snap):
        if tf.keys() & weights.keys():
            scores[p] = max(float(scores[p]), snap.lexical.score_tokens(weights, tf))
    scores[~mask] = 0.0
    return scores


def language_idf(weights: dict[str, float], snap: Snapshot, min_passages: int = 1) -> dict[str, float]:
    """`weights` rescaled so that each word's IDF is counted among the passages of its script's language (Latin
    words among the English passages, the others among the rest), in an index with `min_passages` of each: a
    word of the minority language is rare in the whole index, so any passage sharing a few of the question's
    words outweighed the majority's matches (English questions over Fars News with 40 English articles: an
    English passage ranked first for 32 of 104 tuning questions). Never raised; numbers (script-neutral once
    normalized) and an index of one language are left as they are."""
    counts = snap.language_counts()
    lex = snap.lexical
    n = lex.n_alive
    if min(counts) < max(1, min_passages) or n <= 0:
        return weights
    english = snap.english()
    out = dict(weights)
    for tok, w in weights.items():
        d = lex.df(tok)
        if d <= 0 or any(c.isdigit() for c in tok):
            continue
        latin = tok.isascii()
        group = counts[0] if latin else counts[1]
        dg = lex.df_within(tok, english if latin else ~english)  # the word's own count there, not the index's
        if dg <= 0:
            continue
        ratio = math.log(1 + (group - dg + 0.5) / (dg + 0.5)) / math.log(1 + (n - d + 0.5) / (d + 0.5))
        out[tok] = w * min(1.0, ratio)
    return out


def bodyless(snap: Snapshot) -> list[tuple[int, Counter]]:
    """Live passages that are the whole of a body-less article, with the token counts of title and
    text (found once per snapshot). Their text alone — "Fars News Agency:" — gives keyword search nothing."""
    got = snap.cache.get("bodyless")
    if got is None:
        short = np.flatnonzero(snap.alive & (snap.lengths <= BODYLESS_WORDS))
        # a live position's article range holds only that article's live passages
        short = short[snap.art_count[snap.article_idx[short]] == 1]
        got = [(int(p), Counter(tokenize(f"{snap.passage(int(p)).title}\n{snap.text(int(p))}"))) for p in short]
        snap.cache["bodyless"] = got
    return got


def top_scores(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The `k` best positive scores as (position, score), best first."""
    k = min(k, int((scores > 0).sum()))
    if k <= 0:
        return []
    idx = np.argpartition(-scores, k - 1)[:k]
    idx = idx[np.argsort(-scores[idx])]
    return [(int(i), float(scores[i])) for i in idx]


def expansion_words(query: str) -> list[str]:
    """The words of an English question that get their own Persian counterparts (`expand_terms`)."""
    return [w for w in dict.fromkeys(content_words(query)) if w.isalpha() and len(w) > 3]


def expand_terms(weights: dict[str, float], qvec: np.ndarray, query: str, opts: SearchOptions, snap: Snapshot,
                 word_vectors: Callable[[list[str]], list[np.ndarray]]) -> dict[str, list[tuple[str, float]]]:
    """Add the index words nearest to the question's vector, from the other language (and
    optionally the same one), weighted by how close they are; return each English content
    word's nearest Persian index words with their similarity (refusal reads them)."""
    counterparts: dict[str, list[tuple[str, float]]] = {}
    lang = detect_language(query)
    other = "fa" if lang == "en" else "en"
    plan = [(other, opts.lexicon_terms)] + ([(lang, opts.same_language_terms)] if opts.same_language_terms else [])
    for script, k in plan:
        near = snap.lexicon.nearest(qvec, script, k + 20)
        if len(near) < 2:
            continue
        top, floor = near[0][1], near[-1][1]
        span = (top - floor) or 1.0
        for word, sim in near[:k]:
            weights.setdefault(word, opts.lexicon_weight * (sim - floor) / span)
    if opts.word_terms and lang == "en":
        # word by word too: the question's vector blurs its words, and a detail question's
        # rarer words ("hexane", "kidney") deserve their own Persian counterparts
        own = expansion_words(query)
        if own:
            nears = snap.lexicon.nearest_many(np.stack(word_vectors(own)), other, opts.word_terms + 10)
            for w, near in zip(own, nears, strict=True):
                counterparts[w] = near[: opts.word_terms]
                if len(near) < 2:
                    continue
                top, floor = near[0][1], near[-1][1]
                span = (top - floor) or 1.0
                for word, sim in near[: opts.word_terms]:
                    weights[word] = max(weights.get(word, 0.0), opts.word_weight * (sim - floor) / span)
    return counterparts


def feedback_terms(weights: dict[str, float], positions: list[int], opts: SearchOptions,
                   snap: Snapshot) -> dict[str, float]:
    """Add the most distinctive terms of the top dense passages to the BM25 query.

    This is what lets an English question use Persian keyword search: the dense model
    finds Persian paragraphs about Tartus, and their rare words (طرطوس, حمیمیم) join the query.
    """
    lex = snap.lexical
    if not lex.n_alive:
        return weights
    idf_cache: dict[str, float] = {}
    tf: dict[str, float] = {}
    for rank, p in enumerate(positions):
        for tok in set(tokenize(snap.text(p))):
            if " " in tok or tok in weights:
                continue
            tf[tok] = tf.get(tok, 0.0) + 1.0 / (1 + rank)
    n_docs = lex.n_alive
    for tok in tf:
        df = lex.df(tok)
        idf_cache[tok] = math.log(1 + (n_docs - df + 0.5) / (df + 0.5)) if df else 0.0
    scored = sorted(((tf[t] * idf_cache[t], t) for t in tf if idf_cache[t] > 0), reverse=True)
    extra = scored[: opts.feedback_terms]
    if not extra:
        return weights
    top = extra[0][0]
    out = dict(weights)
    # a plain-language query keeps its terms dominant; feedback terms are weaker
    scale = 0.5 if weights else 1.0
    for s, t in extra:
        out[t] = scale * s / top
    return out

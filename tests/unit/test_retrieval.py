"""bot/core/retrieval.py: fusion of dense and BM25 lists, and HybridSearcher over a small real index
(Chroma on a temp dir, the hashed-word fake embedder): paragraph stage, date filters, modes, names."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.core.answertype import (
    asks_person,
    asks_quantity,
    counted_words,
    counts_in,
    numbers_in,
    person_names,
    person_scores,
    unit_candidates,
)
from bot.core.dates import date_where
from bot.core.fusion import RRF_K, fuse
from bot.core.keywords import name_like, spelled_in_persian, top_scores
from bot.core.options import SearchOptions
from bot.core.retrieval import HybridSearcher, english_questions
from index.ingest import ingest
from index.models import Article
from index.settings import IndexSettings
from index.store import PassageStore

from .fakes import HashEmbedder

ARTICLES = [
    Article("Water returns to Khaju Bridge", [
        "The Zayandeh Rud reached Khaju Bridge in Isfahan on Monday after months of drought, and farmers "
        "celebrated along the banks of the river with music and tea.",
        "Officials said the water will flow for ten days before the dam gates close again for the season, "
        "leaving the riverbed dry until the spring.",
        "Tourists crowded the old bridges at sunset to take photographs of the flowing river and the lit "
        "arches of the historic structures.",
    ], url="https://n.example/water", date="2026-01-28", lang="en"),
    Article("Snow closes schools in Rasht", [
        "Schools in Rasht were closed on Sunday because of heavy snow that blocked the roads of Gilan "
        "province for two days and cut power to villages.",
        "The governor said classes will resume when road crews have cleared the main roads and the "
        "power lines are repaired in the mountain villages.",
    ], url="https://n.example/snow", date="2025-12-10", lang="en"),
    Article("Oil prices climb", [
        "Oil prices rose three percent in Tehran markets on Tuesday as traders expected lower exports "
        "from the region during the winter months ahead.",
    ], url="https://n.example/oil", date="2024-05-01", lang="en"),
    Article("پایگاه طرطوس", [
        "روسیه اعلام کرد که پایگاه دریایی طرطوس در سوریه همچنان فعال می‌ماند و کشتی‌های این کشور در "
        "بندر طرطوس پهلو می‌گیرند و مذاکرات با دولت جدید سوریه ادامه دارد.",
    ], url="https://n.example/tartus", lang="fa"),
]


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory) -> HybridSearcher:
    store = PassageStore(IndexSettings(data_dir=Path(tmp_path_factory.mktemp("unit-index"))), HashEmbedder(),
                         create=True)
    report = ingest(store, ARTICLES)
    assert (report.added, report.failed, report.passages) == (4, 0, 7)
    return HybridSearcher(store)


def _found(searcher: HybridSearcher, query: str, **kw: Any) -> list[tuple[str, int]]:
    """(article url, paragraph) of each hit, best first."""
    res = searcher.search(query, SearchOptions(**kw))
    assert res.snap is not None
    return [(res.snap.meta(h.pos)["url"], res.snap.meta(h.pos)["paragraph"]) for h in res.hits]


WATER, SNOW, OIL, TARTUS = (a.url for a in ARTICLES)


# ---- fusion on hand-made lists -------------------------------------------------------------------
def test_weighted_fusion_is_min_max_dense_plus_scaled_bm25(searcher: HybridSearcher) -> None:
    opts = SearchOptions(dense_weight=1.0, lexical_weight=0.5, recency=False)
    dense = [(1, 0.9), (2, 0.7), (3, 0.5)]
    lexical = [(3, 8.0), (4, 2.0)]
    hits, norm = fuse(dense, lexical, opts, extra={4: 0.6})
    assert norm == (0.5, 0.9, 8.0)
    got = {h.pos: h.score for h in hits}
    assert got == pytest.approx({1: 1.0, 2: 0.5, 3: 0.5, 4: 0.25 + 0.5 * 2 / 8})
    assert [h.pos for h in hits][:1] == [1]
    h4 = next(h for h in hits if h.pos == 4)
    assert (h4.dense, h4.lexical, h4.dense_rank, h4.lexical_rank) == (0.6, 2.0, None, 1)


def test_rrf_fusion_adds_reciprocal_ranks(searcher: HybridSearcher) -> None:
    opts = SearchOptions(fusion="rrf", dense_weight=1.0, lexical_weight=0.5, recency=False)
    hits, _ = fuse([(1, 0.9), (2, 0.7)], [(2, 5.0), (3, 1.0)], opts)
    got = {h.pos: h.score for h in hits}
    assert got == pytest.approx({1: 1 / RRF_K, 2: 1 / (RRF_K + 1) + 0.5 / RRF_K, 3: 0.5 / (RRF_K + 1)})
    assert [h.pos for h in hits] == [2, 1, 3]


def test_recency_only_breaks_near_ties(searcher: HybridSearcher) -> None:
    opts = SearchOptions(fusion="rrf", lexical_weight=0.0)
    ages = np.array([np.nan, 0.0, 2.0, 30.0], np.float32)
    hits, _ = fuse([(0, 0.9), (1, 0.9), (2, 0.9), (3, 0.9)], [], opts, ages=ages)
    got = {h.pos: h.score for h in hits}
    base = [1 / (RRF_K + r) for r in range(4)]
    assert got[0] == pytest.approx(base[0])  # undated: unchanged
    assert got[1] == pytest.approx(base[1] * 1.03)  # today: +3 %
    assert got[2] == pytest.approx(base[2] * 1.015)  # two years: half of that
    assert base[3] < got[3] < base[3] * 1.0001
    assert all(type(h.score) is float for h in hits)  # not numpy.float32: Document metadata goes to JSON


def test_helpers() -> None:
    assert name_like("Where is Tartus and the Khaju bridge? NATO said") == ["tartus", "khaju", "nato"]
    assert name_like("Tartus is where?") == []  # the first word is capitalized anyway
    assert name_like("پایگاه طرطوس کجاست") == ["پایگاه", "طرطوس", "کجاست"]
    assert top_scores(np.array([0.0, 3.0, 1.0, 2.0, 0.0], np.float32), 10) == [(1, 3.0), (3, 2.0), (2, 1.0)]
    assert top_scores(np.zeros(3, np.float32), 2) == []
    assert date_where(None, None) is None
    assert date_where(20250101, None) == {"date_num": {"$gte": 20250101}}
    assert date_where(None, 20251231) == {"$and": [{"date_num": {"$lte": 20251231}}, {"date_num": {"$gt": 0}}]}


# ---- HybridSearcher over the small index ---------------------------------------------------------
def test_the_answering_paragraph_comes_first(searcher: HybridSearcher) -> None:
    assert _found(searcher, "When will the dam gates close?")[0] == (WATER, 2)
    assert _found(searcher, "Why were schools in Rasht closed?")[0] == (SNOW, 1)
    assert _found(searcher, "oil prices Tehran markets")[0] == (OIL, 1)


def test_the_paragraph_stage_scores_every_paragraph_of_the_best_articles(searcher: HybridSearcher) -> None:
    # one candidate from each retriever: only the paragraph stage can bring in the article's other paragraphs
    query = "When will the dam gates close?"
    without = _found(searcher, query, depth=1, paragraph_stage=False)
    assert without == [(WATER, 2)]
    with_stage = _found(searcher, query, depth=1, k=5, dominant_cap=3)
    assert with_stage[0] == (WATER, 2)
    assert sorted(with_stage) == [(WATER, 1), (WATER, 2), (WATER, 3)]


def test_at_most_per_article_passages_of_an_article(searcher: HybridSearcher) -> None:
    found = _found(searcher, "river water bridge", k=5, per_article=1, paragraph_stage=False)
    urls = [u for u, _ in found]
    assert len(urls) == len(set(urls)) and urls[0] == WATER


def test_date_filters(searcher: HybridSearcher) -> None:
    assert {u for u, _ in _found(searcher, "roads power water oil", since="2026-01-01")} == {WATER}
    until = {u for u, _ in _found(searcher, "roads power water oil Tartus", until="2025-12-31")}
    assert until == {SNOW, OIL}  # undated articles are left out when an end date is given
    assert _found(searcher, "water", since="2027-01-01") == []


def test_keyword_and_dense_modes(searcher: HybridSearcher) -> None:
    bm25 = searcher.search("governor classes resume", SearchOptions(mode="bm25", transliterate=False))
    assert bm25.hits and all(h.lexical > 0 and h.dense_rank is None for h in bm25.hits)
    assert bm25.snap is not None and bm25.snap.meta(bm25.hits[0].pos)["url"] == SNOW
    assert bm25.top_dense == 0.0
    dense = searcher.search("governor classes resume", SearchOptions(mode="dense"))
    assert dense.hits and all(h.lexical_rank is None for h in dense.hits)
    assert dense.top_dense > 0 and "embed" in dense.timings_ms and "bm25" not in dense.timings_ms
    assert _found(searcher, "zzzz qqqq", mode="bm25") == []


def test_a_latin_name_finds_its_persian_spelling(searcher: HybridSearcher) -> None:
    res = searcher.search("What happens to the base in Tartus?", SearchOptions(mode="bm25"))
    assert "طرطوس" in res.query_terms and 0 < res.query_terms["طرطوس"] < 1
    assert res.snap is not None and [res.snap.meta(h.pos)["url"] for h in res.hits] == [TARTUS]
    off = searcher.search("What happens to the base in Tartus?", SearchOptions(mode="bm25", transliterate=False))
    assert off.hits == []


def test_an_english_question_is_also_read_with_its_names_in_persian(searcher: HybridSearcher) -> None:
    q = "What happens to the base in Tartus?"
    assert spelled_in_persian(q, {"tartus": ["طرطوس"], "base": []}) == "What happens to the base in طرطوس?"
    with_names = searcher.search(q, SearchOptions())
    without = searcher.search(q, SearchOptions(names_weight=0.0))
    assert with_names.snap is not None
    tartus = {h.pos: h.dense for h in with_names.hits if with_names.snap.meta(h.pos)["url"] == TARTUS}
    before = {h.pos: h.dense for h in without.hits if h.pos in tartus}
    # the hashed-word embedder: only the Persian spelling shares a word with the Persian paragraph
    assert tartus and all(tartus[p] > before.get(p, 0.0) for p in tartus), (tartus, before)
    assert with_names.top_dense == without.top_dense  # refusal reads the plain question's vector


def test_the_word_cache_evicts_without_losing_a_questions_words(searcher: HybridSearcher, monkeypatch) -> None:
    """Full, it evicted a word the question was about to read (KeyError); least recently used goes first."""
    import bot.core.retrieval as retrieval

    monkeypatch.setattr(retrieval, "WORD_CACHE", 4)
    for q in ("Why were schools closed in Tehran?", "Which schools reopened after pollution?",
              "Were schools closed because of pollution in Karaj?"):
        assert searcher.search(q, SearchOptions()).hits
    assert len(searcher._word_cache) <= 4
    assert len(searcher._word_vectors(["schools", "pollution", "schools"])) == 3


def test_a_follow_ups_own_words_weigh_more(searcher: HybridSearcher) -> None:
    opts = SearchOptions(mode="bm25", primary="and Rasht?", carried_weight=0.4)
    res = searcher.search("and Rasht? oil prices", opts)
    assert res.query_terms["rasht"] == 1.0 and res.query_terms["oil"] == pytest.approx(0.4)
    assert res.query_terms["oilprices"] == pytest.approx(0.4)


def test_english_questions_are_centered_and_persian_ones_are_not(searcher: HybridSearcher) -> None:
    bank = english_questions()
    assert len(bank) >= 50 and all(q.isascii() and q.endswith("?") for q in bank)
    q = searcher.store.embedder.encode_query("When will the water reach Khaju Bridge?")
    c = searcher._centered(q, 0.5)
    assert abs(float(np.linalg.norm(c)) - 1.0) < 1e-5 and float(c @ q) < 0.999
    # the ranking vector changes the English search's dense scores, not the refusal signals
    en = "When will the water reach Khaju Bridge?"
    plain = searcher.search(en, SearchOptions(mode="dense", english_centering=0.0))
    centered = searcher.search(en, SearchOptions(mode="dense"))
    assert centered.top_dense == plain.top_dense and centered.hits[0].dense != plain.hits[0].dense
    fa = "پایگاه طرطوس روسیه"
    assert searcher.search(fa, SearchOptions(mode="dense")).hits[0].dense == \
        searcher.search(fa, SearchOptions(mode="dense", english_centering=0.0)).hits[0].dense


def test_refusal_reads_the_same_passages_whatever_the_display_caps(searcher: HybridSearcher) -> None:
    q = "When will the water reach Khaju Bridge and close the dam gates?"
    views = [searcher.search(q, SearchOptions(per_article=cap, dominant_cap=cap)) for cap in (1, 2, 5)]
    assert all(v.signal_hits is not None for v in views)
    assert len({tuple(h.pos for h in v.signal_hits or []) for v in views}) == 1
    assert len({tuple(h.pos for h in v.hits) for v in views}) > 1  # what is shown did change


def test_refusal_signals_come_from_the_fixed_view(searcher: HybridSearcher) -> None:
    from dataclasses import replace

    from bot.core.qa import QA
    from bot.settings import Settings

    q = "When will the water reach Khaju Bridge and close the dam gates?"
    res = searcher.search(q, SearchOptions())
    qa = QA(Settings(data_dir=searcher.store.settings.data_dir), store=searcher.store)
    # whatever is shown (here: nothing but the Oil passage), names and keywords are read from signal_hits
    oil = next(p for p in range(res.snap.size) if "Oil prices" in res.snap.text(p))
    shown_elsewhere = replace(res, hits=[type(res.hits[0])(oil, 1.0)])
    assert qa.relevance(shown_elsewhere, q) == qa.relevance(res, q)


def test_english_centering_setting_is_a_share() -> None:
    from pydantic import ValidationError

    from bot.settings import Settings

    assert Settings(english_centering=0.0).english_centering == 0.0
    for bad in (-5.0, 2.0, float("inf")):
        with pytest.raises(ValidationError):
            Settings(english_centering=bad)


@pytest.mark.parametrize("question,expected", [
    ("How many papers were submitted to the conference?", True),
    ("how much did the new bridge cost?", True),
    ("What percentage of health costs did Iranians pay?", True),
    ("In which year were relations restored?", True),
    ("When will the dam gates close?", False),  # news answers "when" with words as often as a date
    ("تیم اردبیل چند مدال طلا گرفت؟", True),
    ("هزینه این طرح چقدر بود؟", True),
    ("ساخت پل در چه سالی آغاز شد؟", True),
    ("در کدام سال ساخته شد؟", True),
    ("دولت چه مبلغی به شهرداری بدهکار است؟", True),  # "what amount", with the indefinite ی
    ("چه تعدادی از مدارس تعطیل شد؟", True),
    ("What is Russia seeking in Tartus?", False),
    ("What did Rouhani say when he visited Tabriz?", False),  # "when" as a conjunction
    ("روابط چندجانبه دو کشور چه شد؟", False),
    ("کار چندین سال طول کشید؟", False),
    ("مراسم در چه سالنی برگزار شد؟", False),
    ("والیبال توسط کی ساخته شد؟", False),  # colloquial "who"
    ("Who scored the winning goal?", False),
    ("چه کسی گل پیروزی را زد؟", False),
])
def test_asks_quantity(question, expected):
    """Questions asking for a number or a date are told from the rest, in both languages."""
    assert asks_quantity(question) is expected


def test_numbers_in_reads_digits_of_both_scripts():
    assert numbers_in("در ۲۰ سال 31 جام و 4,000 تماشاگر") == {"20", "31", "4000"}


@pytest.mark.parametrize("question,expected", [
    ("How many stray dogs were put down in Anar county?", ["stray", "dogs"]),
    ("How many of the workers were injured?", ["workers"]),
    ("How much honey was exported?", ["honey"]),
    ("How much did the new bridge cost?", []),  # the subject follows, not what is counted
    ("How many Christians had left Egypt?", ["christians"]),
    ("How long is the bridge?", []),
    ("How many teams took part in the league?", ["teams"]),  # stops at the verb
    ("How many candidates registered for the election?", ["candidates"]),
    ("How many of Iran's players scored?", ["players"]),  # a possessive modifies, it is not counted
    ("How many thousand people attended?", ["people"]),
    ("How many teams?", ["teams"]),  # the last word, before the question mark
    ("how many\u00ad teams were there", ["teams"]),  # a soft hyphen
    ("چه تعداد از کارگران اخراج شدند؟", ["کارگران"]),
    ("چه تعدادی کارگر اخراج شدند؟", ["کارگر"]),
    ("چند صد نفر کشته شدند؟", ["نفر"]),
    ("تیم اردبیل چند مدال طلا به دست آورد؟", ["مدال"]),  # the Persian noun comes before its modifiers
    ("چه مقدار حشیش کشف شد؟", ["حشیش"]),
    ("جابه‌جایی مسافر را به چند میلیون نفر برساند؟", ["نفر"]),
    ("تعداد پاسگاه‌ها از چند به چند رسید؟", []),
    ("هزینه این طرح چقدر بود؟", []),
])
def test_counted_words_name_what_a_quantity_question_counts(question, expected):
    assert counted_words(question) == expected


@pytest.mark.parametrize("text,units,expected", [
    ("Some 240 workers and 12 engineers took part.", {"workers"}, True),
    ("In 2023, teams from Iran won.", {"teams"}, False),  # the number ends its clause
    ("۲۰ میلی‌متر باران بارید", {"بار"}, False),  # باران is no plural of بار
    ("۱۲ تیمها حضور دارند", {"تیم"}, True),  # an attached plural
    ("۵ تنها ماند", {"تن"}, False),  # too short a word for a suffix
    ("Some 240 skilled workers took part.", {"worker"}, True),  # a word between, a plural
    ("The work took 3 years and employed many workers.", {"workers"}, False),  # the number counts years
    ("در هفت سال ۱۶ هزار و ١٤٠ بازرسی انجام شد", {"بازرسی"}, True),
    ("۱۲ تیم‌ها در این مسابقات حضور دارند", {"تیم"}, True),  # a plural after a ZWNJ
    ("تیم ملی در ۳ روز تمرین کرد", {"تیم"}, False),
])
def test_counts_in_finds_a_number_of_the_counted_thing(text, units, expected):
    assert counts_in(text, units) is expected


def test_counts_in_skips_the_questions_own_numbers():
    """"How many of the 29 wounded were soldiers?": "29 wounded" restates the question, it answers nothing."""
    assert not counts_in("Of the 29 wounded, most were civilians.", {"wounded"}, {"29"})
    assert counts_in("Of the 29 wounded, 11 wounded were soldiers.", {"wounded"}, {"29"})


def test_only_persian_questions_over_both_languages_are_lifted_and_refusal_keeps_the_plain_top(
        searcher: HybridSearcher) -> None:
    """The English passages' lift (SearchOptions.language_shift) is for Persian questions: measured in an index
    with `language_min` passages of each language, the typical gap (`language_gap`) with fewer; `top_dense`
    stays the plain similarity the Persian refusal thresholds were set on, the lifted one is apart."""
    fa = "پایگاه دریایی طرطوس روسیه"
    plain = searcher.search(fa, SearchOptions(language_shift=0))
    assert plain.top_dense_lifted is None
    typical = searcher.search(fa)  # one Persian passage here: below language_min, so the typical gap
    assert typical.top_dense_lifted is not None and typical.top_dense == pytest.approx(plain.top_dense)
    assert typical.top_dense_lifted <= plain.top_dense + SearchOptions().language_gap + 1e-6
    assert searcher.search(fa, SearchOptions(language_gap=0)).top_dense_lifted is None
    lifted = searcher.search(fa, SearchOptions(language_min=1))
    assert lifted.top_dense == pytest.approx(plain.top_dense)
    assert lifted.top_dense_lifted is not None and lifted.top_dense_lifted >= lifted.top_dense
    assert searcher.search("Oil prices in Tehran", SearchOptions(language_min=1)).top_dense_lifted is None
    assert searcher.search(fa, SearchOptions(language_min=0)).top_dense_lifted is not None  # 0 reads as 1


def test_a_words_idf_is_counted_among_its_own_languages_passages(searcher: HybridSearcher) -> None:
    """keywords.language_idf: here Persian is the minority (1 passage of 7), so طرطوس, in every Persian passage,
    says little among them; an index of one language (or none) keeps its weights."""
    from bot.core.keywords import language_idf
    from index.snapshot import Snapshot

    snap = searcher.store.snapshot()
    got = language_idf({"طرطوس": 1.0, "bridge": 1.0, "unknownword": 0.7}, snap)
    assert got["طرطوس"] < 0.25 and 0.8 < got["bridge"] < 1.0 and got["unknownword"] == 0.7
    assert language_idf({"bridge": 1.0}, Snapshot.empty("x")) == {"bridge": 1.0}
    assert language_idf({"bridge": 1.0}, snap, min_passages=5) == {"bridge": 1.0}  # one Persian passage: too few
    assert language_idf({"3": 1.0}, snap) == {"3": 1.0}  # a number is script-neutral once normalized


@pytest.mark.parametrize("question,expected", [
    ("چه کسی گل پیروزی را زد؟", True),
    ("گل برتری سپاهان مقابل ملوان رو کی زد؟", True),  # the object marker before کی: who scored it
    ("وکالت شاکی‌ها با کی بود؟", True),
    ("مدیرعامل شرکت سازنده کیه؟", True),
    ("کی گفته بستری‌ها کم شده؟", True),
    ("رئیس این سازمان کیست؟", True),
    ("چه کسانی در این پرونده شاکی بودند؟", True),
    ("این جایزه به چه کسیه؟", True),
    ("قطار جدید کی راه می‌افتد؟", False),  # bare کی before a verb: "when"
    ("از کی این قانون اجرا شد؟", False),  # "since when"
    ("جلسه به کی موکول شد؟", False),  # "to when"
    ("جلسه برای کی تنظیم شده؟", False),
    ("کی گفت‌وگوها آغاز شد؟", False),  # the talks
    ("کی گفت وگوی دو کشور آغاز شد؟", False),
    ("قیمت کیا چقدر است؟", False),  # Kia cars
    ("فیلم جدید حاتمی‌کیا کی اکران می‌شود؟", False),
    ("كي گفته بستري‌ها كم شده؟", True),  # Arabic kaf and yeh
    ("کیفیت آب شهر چطور است؟", False),
    ("Who scored the winning goal?", False),  # English questions have their words to go by
])
def test_asks_person(question, expected):
    assert asks_person(question) is expected


def test_person_names_are_capitalized_runs():
    text = ("Chief executive Annelies de Groot and Dr Kwame Asante-Boateng spoke in Eindhoven, "
            "after the Persian Gulf Pro League final.")
    assert person_names(text) == [["annelies", "groot"], ["dr", "kwame", "asante-boateng"],
                                  ["persian", "gulf", "pro", "league"]]
    assert person_names("The plant opened on Sunday in Tehran.") == []
    assert person_names("Iran's Oil Ministry and the Revolutionary Guards'") == [["iran", "oil", "ministry"],
                                                                                ["revolutionary", "guards"]]
    assert person_names("Ab-" * 30000 + "1") == []  # a long hyphenated chain is read once (linear time)


def test_person_scores_count_someone_the_question_does_not_name():
    texts = {0: "Danish player Mikkel Thorsen won the Vienna Open final on Sunday.",
             1: "His coach, former Swedish player Henrik Lund, praised his serve.",
             2: "Sepahan won the Persian Gulf Pro League title.",
             3: "The match lasted two hours."}
    common = {"persian", "gulf", "pro", "league", "vienna", "open", "danish", "swedish"}
    out = person_scores({p: 1.0 for p in texts}, texts.__getitem__, "مربی میکل تورسن کیه؟", 0.8,
                        lambda ws: {w for w in ws if w in common})
    # Henrik Lund is new; Mikkel Thorsen is the question's own name (by its Persian spelling), a league is no one
    assert out == {0: 1.0, 1: 1.8, 2: 1.0, 3: 1.0}
    # an unreadable dictionary cannot tell a person from a league: no bonus at all
    assert person_scores({p: 1.0 for p in texts}, texts.__getitem__, "مربی میکل تورسن کیه؟", 0.8,
                         lambda ws: None) == {p: 1.0 for p in texts}


def test_unit_candidates_are_the_words_after_a_number():
    text = "The Red Crescent sent 1,200 tents and 4,000 blankets; about 300 families, officials said."
    # read as counts_in reads it: a comma ends a clause, so "1,200 tents" is "200 tents"
    assert unit_candidates(text) == {"tents", "and", "4", "blankets", "families"}
    assert unit_candidates("No numbers here, officials said.") == set()

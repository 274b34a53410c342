"""index/chunking.py: paragraphs into passages (numbering, boilerplate, grouping, long paragraphs)."""
from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from index.chunking import MIN_WORDS, article_key, is_boilerplate, split_paragraphs
from index.models import Article

LONG = ("The river reached the old bridge on Monday after weeks of waiting by the farmers of the province "
        "who had asked for water since the spring planting began in the plains.")


def _article(paragraphs: list[str], **kw: Any) -> Article:
    return Article(title=kw.pop("title", "Water returns"), paragraphs=paragraphs, url="https://n.example/1", **kw)


def test_boilerplate_fragments_are_recognized() -> None:
    for junk in ["انتهای پیام", "انتهای خبر.", "Share this", "Advertisement", "Read more:", "۱۲", "   ", "--",
                 "© 2026 Example News", "کپی رایت محفوظ است"]:
        assert is_boilerplate(junk), junk
    for real in ["The bridge reopened.", "آب به پل خواجو رسید.", "Related talks resumed in Vienna."]:
        assert not is_boilerplate(real), real


def test_one_passage_per_paragraph_numbered_as_the_reader_counts() -> None:
    paras = [LONG, "", "انتهای پیام", LONG.replace("river", "canal")]
    ps = split_paragraphs(_article(paras, date="2026-01-28", lang="en"))
    # the empty paragraph is not counted, the boilerplate one is counted but not stored
    assert [(p.paragraph, p.part) for p in ps] == [(1, 0), (3, 0)]
    assert ps[1].text == paras[3]
    key = article_key("https://n.example/1")
    assert [p.id for p in ps] == [f"{key}-1-0", f"{key}-3-0"]
    assert all(p.article_id == "https://n.example/1" and p.date == "2026-01-28" and p.lang == "en" for p in ps)
    assert (ps[0].start, ps[0].end) == (0, len(LONG))


def test_ids_are_stable_across_runs_and_differ_by_article() -> None:
    assert article_key("a") == article_key("a") != article_key("b")
    assert len(article_key("a")) == 16
    assert [p.id for p in split_paragraphs(_article([LONG]))] == [p.id for p in split_paragraphs(_article([LONG]))]


def test_short_paragraphs_join_the_next_until_long_enough() -> None:
    heads = ["Headline one", "Headline two", "Headline three"]
    ps = split_paragraphs(_article([*heads, LONG], lang="en"))
    assert ps[0].paragraph == 1
    assert ps[0].text.split("\n")[:3] == heads
    assert len(ps) == 1 and ps[0].text.endswith(LONG)
    # a paragraph already long enough stands alone and does not absorb the next one
    assert len(LONG.split()) >= MIN_WORDS
    assert [p.text for p in split_paragraphs(_article([LONG, "Short tail here"], lang="en"))] == [
        LONG, "Short tail here"]


def test_long_paragraph_is_cut_on_sentences_with_offsets() -> None:
    sentences = [f"Sentence number {i} tells about the dam and the river near the city." for i in range(30)]
    para = " ".join(sentences)
    ps = split_paragraphs(_article([para], lang="en"), max_chars=300)
    assert len(ps) > 1
    assert [p.part for p in ps] == list(range(len(ps)))
    assert {p.paragraph for p in ps} == {1}
    for p in ps:
        assert len(p.text) <= 300
        assert para[p.start:p.end] == p.text
        assert p.text.endswith(".")  # cut at sentence ends, not mid-sentence
    # nothing is lost: the pieces cover every sentence in order
    assert " ".join(p.text for p in ps) == para


def test_a_sentence_longer_than_the_limit_is_cut_at_a_space() -> None:
    para = " ".join(["word"] * 200)  # one 999-character sentence
    ps = split_paragraphs(_article([para], lang="en"), max_chars=100)
    assert all(len(p.text) <= 100 for p in ps)
    assert all(not p.text.startswith(" ") and p.text.replace("word", "").strip() == "" for p in ps)
    assert sum(p.text.count("word") for p in ps) == 200


def test_language_is_detected_when_the_article_has_none() -> None:
    fa = split_paragraphs(Article(title="آب", paragraphs=["آب زاینده‌رود پس از ماه‌ها به پل خواجو در اصفهان رسید و "
                                                         "مردم شهر برای دیدن آن به کنار رودخانه آمدند."]))
    assert fa[0].lang == "fa"
    assert fa[0].article_id.startswith("sha1:")
    assert split_paragraphs(_article([LONG]))[0].lang == "en"


def test_boilerplate_does_not_vote_on_the_language() -> None:
    ps = split_paragraphs(_article(["انتهای پیام", "Rain closed schools.", "Buses ran late."]))
    assert {p.lang for p in ps} == {"en"}


def test_an_article_of_boilerplate_has_no_passages() -> None:
    assert split_paragraphs(_article(["انتهای پیام", "Share this", ""])) == []


@settings(max_examples=300)
@given(st.text(alphabet="ab c.!؟\n«»", min_size=1, max_size=400), st.integers(10, 120))
def test_pieces_of_a_long_paragraph_lose_nothing(para: str, max_chars: int) -> None:
    text = para.strip()
    ps = split_paragraphs(_article([para], lang="en"), max_chars=max_chars)
    if len(text) <= max_chars or not ps:  # short (or boilerplate) paragraphs are covered above
        return
    assert all(len(p.text) <= max_chars and text[p.start:p.end] == p.text for p in ps)
    assert [p.part for p in ps] == list(range(len(ps)))
    squeeze = lambda t: "".join(t.split())  # noqa: E731 - only whitespace between pieces may go
    assert squeeze("".join(p.text for p in ps)) == squeeze(text)


def test_a_language_label_is_read_as_fa_or_en() -> None:
    """Feeds write "EN", "fa-IR" or "Persian"; passages carry 'en' / 'fa' (retrieval compares them),
    and an unknown label leaves the decision to the text's script."""
    text = "The river reached the old bridge after four days of flow from the dam upstream."
    for label, want in (("EN", "en"), ("en-US", "en"), ("fa-IR", "fa"), ("Persian", "fa"), ("xx", "en")):
        passages = split_paragraphs(Article(title="T", paragraphs=[text], url="https://x.org/a", lang=label))
        assert {p.lang for p in passages} == {want}, label

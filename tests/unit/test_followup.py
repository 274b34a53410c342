"""bot/core/followup.py: follow-up questions made standalone without an LLM."""
from __future__ import annotations

from bot.core.followup import MAX_CARRIED, coverage, is_anaphoric, may_change_topic, rewrite_followup, stays_on_topic

RASHT = [("Why did schools in Rasht close?", "Heavy snow closed them.")]


def test_without_history_the_question_stands_alone() -> None:
    f = rewrite_followup("Why did schools in Rasht close?", None)
    assert (f.standalone, f.primary, f.said) == ("Why did schools in Rasht close?", None, "")
    assert rewrite_followup("And Karaj?", []).standalone == "And Karaj?"


def test_a_follow_up_naming_nothing_stays_on_the_previous_topic() -> None:
    assert is_anaphoric("What else happened there?")
    assert is_anaphoric("دیگر چه شد؟")
    f = rewrite_followup("What else happened there?", RASHT)
    assert f.standalone == "Why did schools in Rasht close? What else happened there?"
    assert f.primary is None  # every word weighs alike: the previous question is the topic
    assert f.said == "Heavy snow closed them."  # so "what else" does not repeat it
    fa = rewrite_followup("دیگر چه شد؟", [("چرا مدارس رشت تعطیل شد؟", "برف")])
    assert fa.standalone == "چرا مدارس رشت تعطیل شد؟ دیگر چه شد؟" and fa.said == "برف"


def test_a_short_follow_up_with_a_topic_leads_and_borrows_the_previous_words() -> None:
    assert not is_anaphoric("And in Karaj?")
    f = rewrite_followup("And in Karaj?", RASHT)
    assert f.primary == "And in Karaj?"
    assert f.standalone == "And in Karaj? schools rasht close"
    assert f.said == ""


def test_a_long_follow_up_is_left_alone_and_carried_words_are_bounded() -> None:
    long_q = "Why did schools in Rasht and Tehran close this week after snow?"
    assert rewrite_followup(long_q, [("oil prices", "up")]).standalone == long_q
    prev = " ".join(f"topic{i}" for i in range(20))
    f = rewrite_followup("Karaj?", [(prev, "")])
    assert len(f.standalone.split()) == 1 + MAX_CARRIED


def test_nothing_new_to_carry_leaves_the_question() -> None:
    f = rewrite_followup("schools in Rasht?", [("Rasht schools", "x")])
    assert (f.standalone, f.primary) == ("schools in Rasht?", None)


def test_a_follow_up_stays_on_topic_by_its_words_or_its_closeness() -> None:
    texts = ["Primary schools in Tehran will be closed on Monday as students stay home.", "تعطیلی مدارس رشت"]
    df = {"students": 1, "capital": 1}.get

    def on(question: str, similarity: float = 0.7, others: dict | None = None) -> bool:
        return stays_on_topic(question, texts, similarity, lambda w: df(w, 0), 100, others or {})

    assert on("How many students?")  # its own word is in the passages
    assert on("And in Rasht?", others={"rasht": ["رشت"]})  # found by its transliteration
    assert not on("What is the capital of France?")  # France, the rarer word, is nowhere
    assert not on("Tell me a joke")
    assert on("Tell me a joke", similarity=0.8)  # close to the passages: the same story in other words
    assert on("What else?")  # names nothing: the anaphoric rule's case


def test_a_refused_turn_lends_no_words() -> None:
    refused = ("What is the capital of France? rasht schools", "I could not find anything about this in the indexed articles.")
    f = rewrite_followup("And Karaj?", RASHT + [refused])
    assert f.standalone.startswith("And Karaj?") and "rasht" in f.standalone and "france" not in f.standalone
    assert rewrite_followup("Tell me a joke", [refused]).standalone == "Tell me a joke"


def test_a_pronoun_after_a_refused_turn_points_at_nothing() -> None:
    refused = ("What is the capital of France?", "I could not find anything about this in the indexed articles.")
    refused_fa = ("پایتخت فرانسه کجاست؟", "در خبرهای نمایه‌شده مطلبی درباره این پرسش پیدا نکردم.")
    assert rewrite_followup("How much did it cost?", [refused]).orphan
    assert rewrite_followup("And its population?", [refused, refused]).orphan
    # an earlier answered question is what "they" may mean: borrowed from, and checked against its story
    assert not rewrite_followup("When will they reopen?", RASHT + [refused]).orphan
    assert rewrite_followup("هزینه‌اش چقدر بود؟", [refused_fa]).orphan
    for own in ("What about Tehran's schools?", "How many students were there in Tehran schools?"):
        assert not rewrite_followup(own, [refused]).orphan, own  # names its own subject: searched on its own
    assert not rewrite_followup("How much did it cost?", RASHT).orphan  # after an answer "it" is that story
    assert not rewrite_followup("What did Rouhani say about this?", [refused]).orphan  # a name: its own subject


def test_fillers_name_nothing_and_other_languages_sit_closer() -> None:
    for filler in ("Really?", "Is that true?", "Why so?", "Where exactly?", "واقعا؟", "چرا؟"):
        assert is_anaphoric(filler), filler  # they refer back: searched with the previous question
    texts = ["تعطیلی مدارس رشت"]
    assert stays_on_topic("Who helped the families?", texts, 0.76, lambda w: 0, 100, {}, across=True)
    assert not stays_on_topic("Who helped the families?", texts, 0.76, lambda w: 0, 100, {})
    assert not stays_on_topic("Tell me a joke", texts, 0.73, lambda w: 0, 100, {}, across=True)


def test_only_a_follow_up_that_names_something_new_may_change_the_topic() -> None:
    assert may_change_topic("What is Russia seeking in Tartus?", "fa")
    assert not may_change_topic("When will they reopen?", "en")  # points back
    assert not may_change_topic("What caused the pollution?", "en")  # names nothing: about the story
    assert may_change_topic("استاندار اردبیل چه گفت؟", "fa")
    assert not may_change_topic("استاندار اردبیل چه گفت؟", "en")  # Persian words are not looked up in English
    texts = ["پایگاه دریایی روسیه در طرطوس"]
    assert coverage("What is Russia seeking in Tartus?", texts, lambda w: 1, 100,
                    {"russia": ["روسیه"], "tartus": ["طرطوس"]}) > 0.6
    assert coverage("What is Russia seeking in Tartus?", ["مدارس رشت"], lambda w: 1, 100, {}) == 0.0

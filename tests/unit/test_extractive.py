"""bot/core/extractive.py: which sentences of the top passages an offline answer quotes."""
from __future__ import annotations

from bot.core.extractive import MAX_CHARS, MAX_SENTENCES, REFUSAL, frame, pick_sentences

PASSAGES = [
    "Schools in Rasht closed on Sunday. The governor cited heavy snow. Buses stopped too.",
    "Tehran schools stayed open. Traffic was slow.",
    "Unrelated text about oil.",
]
WEIGHTS = {"schools": 1.0, "rasht": 2.0, "closed": 1.0}


def test_the_best_matching_sentence_of_the_top_passage_is_quoted() -> None:
    picks = pick_sentences(PASSAGES, WEIGHTS, [1.0, 0.5, 0.1])
    assert [(p.passage, p.text) for p in picks] == [(0, "Schools in Rasht closed on Sunday.")]


def test_a_nearly_tied_passage_gives_a_sentence_too() -> None:
    picks = pick_sentences(PASSAGES, WEIGHTS, [1.0, 0.9, 0.1])
    assert [(p.passage, p.text) for p in picks] == [(0, "Schools in Rasht closed on Sunday."),
                                                     (1, "Tehran schools stayed open.")]
    assert picks[0].score > picks[1].score


def test_picks_read_in_source_order_and_stay_within_limits() -> None:
    many = [" ".join(f"Rasht schools closed because of snow number {i}{j}." for j in range(4)) for i in range(5)]
    picks = pick_sentences(many, WEIGHTS, [1.0] * 5)
    assert len(picks) == MAX_SENTENCES
    order = [(p.passage, many[p.passage].find(p.text)) for p in picks]
    assert order == sorted(order)
    # sentences of ~300 characters: the best one, then others only while the answer stays within MAX_CHARS
    filler = " and".join(f" the snow word{k}" for k in range(14))
    long_one = " ".join(f"Rasht schools closed {j}{filler}." for j in range(5))
    picks = pick_sentences([long_one], WEIGHTS, [1.0])
    assert all(len(p.text) > MAX_CHARS // 3 for p in picks)
    assert len(picks) == 2 and sum(len(p.text) for p in picks) <= MAX_CHARS


def test_what_was_already_said_is_not_repeated_while_something_else_remains() -> None:
    said = "Schools in Rasht closed on Sunday."
    picks = pick_sentences(PASSAGES, WEIGHTS, [1.0, 0.5, 0.1], avoid=said)
    assert picks and said not in [p.text for p in picks]
    # when everything was said, the answer is given again rather than nothing
    again = pick_sentences(["Schools in Rasht closed on Sunday."], WEIGHTS, [1.0], avoid=said)
    assert [p.text for p in again] == [said]


def test_no_sentences_no_picks() -> None:
    assert pick_sentences(["", "  ", "!!"], WEIGHTS, [1.0, 1.0, 1.0]) == []


def test_frames_and_refusals_in_both_languages() -> None:
    assert frame("en", "fa").startswith("The indexed articles on this are in Persian")
    assert "انگلیسی" in frame("fa", "en")
    assert frame("en", "en") == frame("fa", "fa") == ""
    assert set(REFUSAL) == {"en", "fa"}

"""index/text.py: digits of the three scripts, sentence spans and pieces, the Persian share of letters."""
from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from index.text import (
    ARABIC_DIGITS,
    ASCII_DIGIT_MAP,
    DIGIT,
    PERSIAN_DIGITS,
    ascii_digits,
    persian_digits,
    persian_digits_in_persian,
    persian_share,
    sentence_pieces,
    split_sentences,
)


def test_digits_of_every_script_become_ascii() -> None:
    assert ascii_digits("۱۴۰۴-۱۱-۰۸") == "1404-11-08"
    assert ascii_digits("٢٠٢٦ and 7") == "2026 and 7"
    assert ascii_digits(PERSIAN_DIGITS) == ascii_digits(ARABIC_DIGITS) == "0123456789"
    assert len(ASCII_DIGIT_MAP) == 20


def test_digits_turn_persian_only_in_persian_text() -> None:
    assert persian_digits_in_persian("سطح PM2.5 به 160 رسید. Levels hit 160 on Monday.") == \
        "سطح PM2.5 به ۱۶۰ رسید. Levels hit 160 on Monday."
    assert persian_digits_in_persian("12 نفر [3]") == "۱۲ نفر [۳]"


def test_persian_digits_round_trip() -> None:
    assert persian_digits("8 بهمن 1404") == "۸ بهمن ۱۴۰۴"
    assert ascii_digits(persian_digits("0123456789")) == "0123456789"


def test_digit_class_matches_all_three_scripts_only() -> None:
    assert [bool(re.fullmatch(DIGIT, c)) for c in "5۵٥a۰"] == [True, True, True, False, True]


def test_sentences_end_at_latin_and_persian_marks_with_closing_quotes() -> None:
    text = "سلام. حالت چطور است؟ «خوبم.» Then he said: Hi! ok… end"
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "سلام.", "حالت چطور است؟", "«خوبم.»", "Then he said: Hi!", "ok…", "end"]


def test_a_direction_mark_after_the_stop_still_ends_the_sentence() -> None:
    """Copy-pasted Persian puts a right-to-left mark after the full stop: the quote split there too, or a
    quoted sentence was shown without its [n] (the checks read the text without the mark)."""
    t = "این هزینه به ۳۷ درصد رسیده است.\u200f وقتی سبد هزینه بالا می‌رود، مردم می‌پردازند."
    assert [t[a:b] for a, b in split_sentences(t)] == ["این هزینه به ۳۷ درصد رسیده است.\u200f",
                                                        "وقتی سبد هزینه بالا می‌رود، مردم می‌پردازند."]


def test_a_decimal_point_does_not_end_a_sentence() -> None:
    text = "3.5 million people voted. Next"
    assert [text[s:e] for s, e in split_sentences(text)] == ["3.5 million people voted.", "Next"]


def test_newlines_end_sentences_and_blank_text_has_none() -> None:
    assert [("a\nb\n\nc")[s:e] for s, e in split_sentences("a\nb\n\nc")] == ["a", "b", "c"]
    assert split_sentences("   \n  ") == []
    assert sentence_pieces("") == []


def test_pieces_keep_trailing_whitespace() -> None:
    assert sentence_pieces("a. b.\n\nc") == ["a. ", "b.\n\n", "c"]


@given(st.text(alphabet="ab .!?؟\n«»", max_size=60))
def test_pieces_join_back_to_the_text(text: str) -> None:
    pieces = sentence_pieces(text)
    assert "".join(pieces) == text
    for s, e in split_sentences(text):
        assert 0 <= s < e <= len(text) and not text[s].isspace() and not text[e - 1].isspace()


def test_persian_share_counts_letters_only() -> None:
    assert persian_share("abc سلام") == 4 / 7
    assert persian_share("سلام ۱۲۳!") == 1.0
    assert persian_share("123 !?") == 0.0


def test_a_title_before_a_name_does_not_end_a_sentence() -> None:
    text = "Police arrested the suspect, Dr. Sarabi, in Bushehr. Mr. Smith agreed."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Police arrested the suspect, Dr. Sarabi, in Bushehr.", "Mr. Smith agreed."]
    for text, want in (("ask Dr.\nNew line", ["ask Dr.", "New line"]),  # a line break still ends it
                       ("He blamed the U.S. Oil rose.", ["He blamed the U.S.", "Oil rose."]),  # not a title
                       ("apples, etc. Then pears.", ["apples, etc.", "Then pears."]),
                       ("Ask Dr. [1] Next", ["Ask Dr.", "[1] Next"]),  # a citation marker ends it
                       ("I saw it. A cat ran.", ["I saw it.", "A cat ran."])):
        assert [text[s:e] for s, e in split_sentences(text)] == want


def test_a_dotted_abbreviation_before_a_lowercase_word_does_not_end_a_sentence() -> None:
    """An extractive quote cut at "a.m." began "local time at a depth of 10 kilometres…"."""
    for text, want in (("The quake hit at 4:37 a.m. local time. It was felt.",
                        ["The quake hit at 4:37 a.m. local time.", "It was felt."]),
                       ("He met the U.S. envoy. Talks failed.", ["He met the U.S. envoy.", "Talks failed."]),
                       ("It ended at 5 p.m. Then rain fell.", ["It ended at 5 p.m.", "Then rain fell."]),
                       ("He went to the U.S.\nthen home.", ["He went to the U.S.", "then home."]),
                       ("He went to the U.S.\rthen home.", ["He went to the U.S.", "then home."]),
                       ("I saw it. and then.", ["I saw it.", "and then."])):  # not an abbreviation
        assert [text[s:e] for s, e in split_sentences(text)] == want


def test_a_run_of_stops_is_split_once() -> None:
    """A reply of thousands of dots was split in quadratic time (every dot tried as a sentence end)."""
    text = "." * 20000 + "a"
    assert [text[s:e] for s, e in split_sentences(text)] == [text]
    text = "Wait... what?! Yes.» Next"
    assert [text[s:e] for s, e in split_sentences(text)] == ["Wait...", "what?!", "Yes.»", "Next"]

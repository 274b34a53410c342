"""bot/core/citations.py, support.py, figures.py: markers, claims, Markdown flattening, the support check, numbers, names."""
from __future__ import annotations

import pytest

from bot.core.citations import (
    MARKER,
    check_answer,
    flatten_markdown,
    is_no_answer,
    lexical_support,
    marker_numbers,
    split_claims,
    strip_markers,
)
from bot.core.figures import numbers_found, numbers_of
from bot.core.support import SupportCheck, anchors, names_found, sentence_names

from .fakes import HashEmbedder

SOURCES = [
    "The Zayandeh Rud water reached Khaju Bridge on Monday after 40 days.",
    "Schools in Rasht closed because of heavy snow.",
    "Oil prices rose by 3 percent.",
]


@pytest.mark.parametrize("group, numbers", [
    ("1", [1]), ("1, 2", [1, 2]), ("۱، ۲", [1, 2]), ("1;2", [1, 2]), ("1-3", [1, 2, 3]), ("1–3", [1, 2, 3]),
    ("3-1", [3, 1]),  # a backwards range is two sources, not an empty range
    ("1-50", [1, 50]),  # an implausibly wide range is its two ends
])
def test_marker_numbers(group: str, numbers: list[int]) -> None:
    assert marker_numbers(group) == numbers


def test_every_marker_form_is_found() -> None:
    text = "a [1] b [1, 2] c [1][2] d [۱] e 【3】 f [x] g [1-3] h [ 4 ]"
    assert [m.group(0) for m in MARKER.finditer(text)] == ["[1]", "[1, 2]", "[1]", "[2]", "[۱]", "【3】", "[1-3]",
                                                            "[ 4 ]"]


def test_claims_carry_their_markers_and_a_leading_marker_belongs_before() -> None:
    claims = split_claims("The dam opened [1]. Water reached the bridge.[2] [3] Farmers cheered.")
    assert [(c.text, c.sources) for c in claims] == [
        ("The dam opened.", [1]), ("Water reached the bridge.", [2, 3]), ("Farmers cheered.", [])]
    fa = split_claims("آب به پل رسید. [۱] مردم آمدند.")
    assert [(c.text, c.sources) for c in fa] == [("آب به پل رسید.", [1]), ("مردم آمدند.", [])]


def test_flatten_markdown_makes_plain_sentences() -> None:
    text = ("Answer: Here is what happened:\n"
            "- **Water**: the river reached the bridge [1]\n"
            "- Farmers cheered [2]\n"
            "## Details\n"
            "1. The dam opened on Monday [1]\n"
            "\n"
            "Sources:\n"
            "[1] Article one\n")
    assert flatten_markdown(text) == ("the river reached the bridge [1]. Farmers cheered [2]. "
                                      "The dam opened on Monday [1].")
    assert flatten_markdown("```\ncode\n```\n---\nPlain sentence.") == "code. Plain sentence."


def test_no_answer_sentences_in_both_languages() -> None:
    assert is_no_answer("The articles do not say when the dam opens.")
    assert is_no_answer("There is no information about this.")
    assert is_no_answer("اطلاعاتی در این باره نیست.")
    assert is_no_answer("در منابع به این موضوع اشاره‌ای نشده است.")
    assert not is_no_answer("The dam opened on Monday.")
    assert not is_no_answer("سد روز دوشنبه باز شد.")


def test_numbers_of_any_script_and_separator() -> None:
    assert numbers_of("13,500 people, ۴۶۰ patients and 3.5 km") == {"13500", "460", "3.5"}
    assert numbers_of("۳٫۵ درصد و ۱۲٬۰۰۰ نفر") == {"3.5", "12000"}
    assert numbers_found("460 patients were treated", ["242 patients"]) is False
    assert numbers_found("۲۴۲ بیمار", ["242 patients were treated"]) is True
    assert numbers_found("No figures here", []) is True


def test_names_are_capitalized_words_after_the_first() -> None:
    assert sentence_names("Russia keeps its base in Tartus and Moscow agrees on Monday.") == ["Tartus", "Moscow"]


def test_names_are_found_across_scripts_by_skeleton() -> None:
    assert names_found("The base in Tartus stays open.", ["پایگاه طرطوس"])
    assert names_found("Water reached Khaju Bridge.", ["آب به پل خواجو رسید"])  # «Bridge» is پل, translated
    assert names_found("Water reached Khaju Bridge.", ["Khaju Bridge"])
    assert not names_found("Water reached Khaju Bridge.", ["آب به پل مارنان رسید"])
    assert not names_found("The airport in Ardabil closed.", ["فرودگاه تبریز بسته شد"])
    assert names_found("all lower case words", [])
    # a hyphenated name copied from its passage (a verbatim quote was judged unsupported)
    assert names_found("Tents went to Deh-Kamar, the hardest-hit village.", ["Tents went to Deh-Kamar."])
    assert names_found("Tents went to Dehkamar.", ["Tents went to Deh-Kamar."])
    assert not names_found("Tents went to Deh-Kamar.", ["Tents went to Deh village."])
    assert not names_found("Iraq's PM Al-Sudairi spoke.", ["Iraq's PM al-Sudani spoke."])  # joined: exact only
    assert not names_found("Aid went to Dehkaran.", ["Aid went to Deh-Kamar."])


def test_anchors_are_numbers_and_skeletons() -> None:
    assert anchors("Tartus base 2026 in the city") == {"~trts", "2026"}
    assert anchors("پایگاه طرطوس در سال 2026") >= {"~trts", "2026"}


def test_lexical_support_is_the_share_of_content_words_found() -> None:
    assert lexical_support("Schools in Rasht closed.", SOURCES[1]) == 1.0
    # oil, prices, fell, sharply and the joined pairs oilprices, pricesfell, fellsharply: 3 of 7 found
    assert lexical_support("Oil prices fell sharply.", SOURCES[2]) == pytest.approx(3 / 7)
    assert lexical_support("Of a …?", SOURCES[0]) == 1.0  # no content word: nothing to support
    assert strip_markers("Hello [1] World [۲]") == "hello world"


def test_check_answer_keeps_supported_sentences_renumbered() -> None:
    check = SupportCheck(HashEmbedder(), SOURCES)
    answer = ("Water reached Khaju Bridge on Monday [2][1]. Schools in Rasht closed because of snow [7]. "
              "Oil prices rose 5 percent [3]. The sky is green.")
    r = check_answer(answer, SOURCES, check.supported)
    # of the markers [2][1] only the one whose passage supports the sentence alone stays ([2] is Rasht)
    assert r.text == "Water reached Khaju Bridge on Monday. [1]"
    assert r.used == [1]
    assert (r.dropped, r.dangling, r.cited) == (3, 1, 2)  # [7] dangles; 5 ≠ 3 percent; the green sky is uncited
    assert not r.no_answer


def test_check_answer_keeps_the_strongest_of_several_supporting_markers() -> None:
    sources = ["Schools in Rasht closed because of heavy snow on Monday.",
               "Schools in Rasht closed because of heavy snow.",
               "In Rasht, schools closed because of snow."]
    check = SupportCheck(HashEmbedder(), sources)
    text = "Schools in Rasht closed because of heavy snow [1][2][3]."
    # each passage supports the sentence on its own: without a strength all three stay …
    assert check_answer(text, sources, check.supported).used == [1, 2, 3]
    # … with one, the citation is the passage that states it best (all its words, nothing else)
    r = check_answer(text, sources, check.supported, strength=check.strength)
    assert r.text == "Schools in Rasht closed because of heavy snow. [1]" and r.used == [2]
    assert check.strength(text, 2) > max(check.strength(text, 1), check.strength(text, 3))
    # a sentence that joins two passages, neither enough alone, keeps both markers
    joined = ["Ali Rezaei won in Tabriz.", "Sara Karimi came second in Shiraz."]
    check = SupportCheck(HashEmbedder(), joined)
    claim = "Ali Rezaei won in Tabriz, Sara Karimi came second in Shiraz."
    assert not check.supported(claim, [joined[0]]) and not check.supported(claim, [joined[1]])
    assert check.supported(claim, joined)
    r = check_answer(claim[:-1] + " [1][2].", joined, check.supported, strength=check.strength)
    assert r.used == [1, 2] and r.text == claim + " [1][2]"


def test_check_answer_attributes_sentences_without_a_valid_marker() -> None:
    check = SupportCheck(HashEmbedder(), SOURCES)
    r = check_answer("Schools in Rasht closed because of heavy snow. Oil prices rose by 3 percent [9].",
                     SOURCES, check.supported, attribute=check.attribute)
    assert r.text == "Schools in Rasht closed because of heavy snow. [1] Oil prices rose by 3 percent. [2]"
    assert r.used == [2, 3] and r.attributed == [2, 3]
    assert r.attributed_sentences == 2 and r.dangling == 1


def test_check_answer_keep_uncited_and_no_answer() -> None:
    check = SupportCheck(HashEmbedder(), SOURCES)
    kept = check_answer("The sky is green. Oil prices rose by 3 percent [3].", SOURCES, check.supported,
                        keep_uncited=True)
    assert kept.text == "The sky is green. Oil prices rose by 3 percent. [1]" and kept.used == [3]
    r = check_answer("The articles do not say. Schools in Rasht closed [2].", SOURCES, check.supported)
    assert r.no_answer and r.text == "Schools in Rasht closed. [1]" and r.dropped == 1


def test_support_check_rejects_wrong_numbers_and_short_attributions() -> None:
    check = SupportCheck(HashEmbedder(), SOURCES)
    assert check.supported("Water reached Khaju Bridge on Monday after 40 days.", [SOURCES[0]])
    assert not check.supported("Water reached Khaju Bridge after 41 days.", [SOURCES[0]])
    assert check.attribute("Schools in Rasht closed because of heavy snow.") == [2]
    assert check.attribute("Yes.") == []


@pytest.mark.parametrize("sentence,passage,expected", [
    ("146,000 American troops were serving in Iraq.", "در حال حاضر ۱۴۶ هزار نیروی آمریکایی در عراق خدمت می‌کنند.", True),
    ("It costs 7.86 billion toman.", "هزینه آن 7 میلیارد و 860 میلیون تومان است.", True),
    ("Reserves reached $60.85 billion.", "ذخایر به 60/850 میلیارد دلار رسید.", True),
    ("The deal is worth 1.2 billion dollars.", "ارزش قرارداد 1200 میلیون دلار است.", True),
    ("4 thousand students gathered.", "4000 دانش‌آموز گرد آمدند.", True),
    # the scale is part of the figure: 17 billion rials is not $17 million
    ("The repairs need $17 million.", "برای مرمت آنها 17 میلیارد ریال اعتبار نیاز است.", False),
    ("Russia sent 30 to 40 million tons.", "روسیه 30 تا 40 تن فرستاد.", False),
    ("460 patients were treated.", "242 بیمار درمان شدند.", False),
    # a figure elsewhere in the text is not part of a compound; "و" must be a word
    ("ساخت 10 هزار واحد مسکونی با 500 میلیارد تومان اعتبار آغاز شد.",
     "ساخت 10 هزار واحد مسکونی در 3 هزار هکتار با 500 میلیارد تومان اعتبار آغاز شد.", True),
    ("It costs 7 billion and 860 million toman.", "هزینه آن 7.86 میلیارد تومان است.", True),
    ("They spent 5 million and 2 billion.", "5 میلیون خرج شد. 2 میلیارد هم", True),  # an English list
    ("3,012,000 people attended.", "12 هزار و 500 نفر آمدند و 3 میلیون دلار خرج شد", False),
    # a bare figure is read where it stands, not dropped because a scaled one has its digits
    ("About 3 million people live in 3 provinces.", "3,000,000 نفر در 5 استان زندگی می‌کنند.", False),
    # a date keeps its zeros: Dey (10) is not Farvardin (1)
    ("It opened on 1399/10/12.", "در تاریخ 1399/1/12 افتتاح شد.", False),
    ("It measured 40.0 km.", "40 کیلومتر", True),
    # "یکهزار و 355" is 1,355: its last part alone is not the figure (a 1.5 B model wrote "355")
    ("The toll reached 355.", "شمار سربازان كشته شده به يكهزار و 355 نفر رسيد", False),
    ("The toll reached 1,355.", "شمار سربازان كشته شده به يكهزار و 355 نفر رسيد", True),
    ("12,500 people came.", "12 هزار و 500 نفر آمدند", True),
    ("500 people came.", "12 هزار و 500 نفر آمدند", False),
    ("It costs 860 million toman.", "هزینه آن 7 میلیارد و 860 میلیون تومان است.", False),
    ("It costs 7 billion toman.", "هزینه آن 7 میلیارد و 860 میلیون تومان است.", True),  # its leading part
    ("About 2,000 came.", "حدود دوهزار نفر آمدند", True),
    # review cases: a scale alone is one of it, a tail must make a total, English "and" is a list
    ("The toll reached 1,355.", "به هزار و 355 نفر رسید", True),
    ("شمار کشته‌ها به هزار و 999 نفر رسید", "شمار کشته‌ها به 355 نفر رسید", False),
    ("2 هزار و 1500 نفر آمدند", "2 هزار نفر آمدند", False),
    ("It costs 860 million toman.", "هزینه آن هفت میلیارد و 860 میلیون تومان است.", False),
    ("It costs 7.86 billion toman.", "هزینه آن هفت میلیارد و 860 میلیون تومان است.", True),
    ("200,000 people came.", "یک میلیون و 200 هزار نفر آمدند", False),
    ("300 workers were hired.", "The project cost $2 million and 300 workers were hired.", True),
    ("Nearly a million and 999 people fled.", "هیچ", False),
    ("12 هزار و 500 نفر آمدند", "12,500 people came", True),
])
def test_numbers_with_a_scale_word_compare_by_value(sentence, passage, expected):
    """Persian news writes "146 هزار", an English answer "146,000": the same figure, by value; a
    compound's later part is not what the passage says, and a scale written onto its number ("یکهزار")
    and digits ending a compound of words or scale words are read as one figure."""
    assert numbers_found(sentence, [passage]) is expected


def test_persian_number_words_count_as_figures():
    """"چهار هزار نفر" is 4,000 people; punctuation ends a compound."""
    assert numbers_of("حدود چهار هزار نفر؛ سیصد و چهل و دو نفر؛ دو میلیون و پانصد هزار؛ ده روز") >= {
        "4000", "342", "2500000", "10"}
    assert numbers_found("About 4,000 fighters handed over their weapons.", ["حدود چهار هزار نفر سلاح تحویل دادند"])
    assert not numbers_found("About 5,000 fighters handed over their weapons.", ["حدود چهار هزار نفر سلاح تحویل دادند"])


def test_a_possessive_name_is_the_name():
    assert names_found("The head of Iran's judo team spoke.", ["رئیس تیم جودو ایران"])
    assert not names_found("The head of Ardabil's judo team spoke.", ["رئیس تیم جودو تبریز"])


def test_huge_figures_neither_crash_nor_collide():
    assert numbers_of("1" * 100_001 + " هزار")
    assert not numbers_found("1" * 40 + " thousand", ["1" * 39 + "2 هزار"])


def test_a_compound_figure_in_the_sentence_is_asked_for_whole() -> None:
    """A quoted Persian sentence states "یکهزار و 355" (1,355) and "12 هزار و 500" (12,500): found in its
    own passage, and not in one that says 355 or 500 alone."""
    toll = "شمار سربازان كشته شده به يكهزار و 355 نفر رسيد"
    assert numbers_found(toll, [toll]) and not numbers_found(toll, ["شمار سربازان کشته شده 355 نفر است"])
    crowd = "12 هزار و 500 نفر آمدند"
    assert numbers_found(crowd, [crowd]) and numbers_found("12,500 people came", [crowd])
    assert not numbers_found(crowd, ["12 هزار نفر آمدند و 500 نفر رفتند"])


def test_the_common_nouns_of_a_name_are_translated_not_transliterated() -> None:
    """"Khaju Bridge" is پل خواجو and "Guardian Council" شورای نگهبان: the name's own word must be in the
    passage, its "Bridge" or "Council" need not be spelled there; a name of such words only is checked whole."""
    passage = "جریان آب حدود سه روز بعد به پل خواجو می‌رسد."
    assert names_found("The water reaches Khaju Bridge three days later.", [passage])
    assert not names_found("The water reaches Marnan Bridge three days later.", [passage])
    assert names_found("The Guardian Council rejected it.", ["شورای نگهبان آن را رد کرد"]) is False  # نگهبان ≠ Guardian
    # a name of common nouns only is still checked whole: "Supreme Court" is not دادگاه انقلاب
    assert not names_found("The Supreme Court upheld the sentence.", ["دادگاه انقلاب حکم را تایید کرد"])
    assert sentence_names("It reached Khaju Bridge and the Supreme Court met.") == ["Khaju", "Supreme", "Court"]


@pytest.mark.parametrize("passage", [
    "تراکنش دفاتر از یک میلیون و 522 هزار در سال 86 به 4 میلیون و 890 هزار در سال 87 افزایش یافت.",
    "حدود یک میلیون و 20 هزار و 660 نفر واجد شرایط رای دادن هستند.",
    "شمار سربازان کشته شده به یکهزار و 355 نفر و هزینه‌ها به 7 میلیارد و 860 میلیون تومان رسید.",
    "بین سه تا 5 درصد، سیصد و چهل و دو نفر، 3/5 میلیون تن و 12 هزار و 500 واحد در سال 1399/10/12.",
])
def test_a_sentence_states_no_figure_its_own_passage_lacks(passage) -> None:
    """A sentence copied from a passage passes the figure check against it (every sentence of the 1,500
    Fars articles does), and the parts of its compounds alone do not."""
    assert numbers_found(passage, [passage])
    assert not numbers_found("There were 20,660 of them.", ["حدود یک میلیون و 20 هزار و 660 نفر"])
    assert not numbers_found("There were 522,000 of them.", ["از یک میلیون و 522 هزار"])
    assert numbers_found("There were 1,522,000 of them.", ["از یک میلیون و 522 هزار"])


def test_a_number_written_in_two_digit_scripts_is_made_one() -> None:
    # Qwen2.5-Coder-1.5B wrote "۴7 روز" for the 47 days of an English source; whole Persian or ASCII numbers stay
    assert flatten_markdown("فیلمبرداری ۴7 روز طول کشید [1]") == "فیلمبرداری 47 روز طول کشید [1]."
    assert flatten_markdown("در ۱۴۰۳ و 2024 [2]") == "در ۱۴۰۳ و 2024 [2]."

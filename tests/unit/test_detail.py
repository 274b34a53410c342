"""bot.core.detail: the paragraph that holds the asked detail, by dictionary translations."""
from __future__ import annotations

from bot.core.detail import detail_scores, word_forms

PARAS = {  # written for this test
    10: "رئیس پژوهشکده چای کشور در لاهیجان گفت: پژوهشکده امسال ده طرح تحقیقاتی را به پایان رسانده است.",
    11: "وی افزود: کشت برنج پس از کشت چای رتبه دوم درآمد باغداران را در این منطقه دارد.",
    12: "پژوهشکده چای کشور با هدف آموزش باغداران کارگاه برگزار می‌کند.",
    20: "سخنگوی فیفا گفت: عضویت او لغو شده است.",
}
TERMS = [("tea", ["چای"]), ("institute", ["پژوهشکده"]), ("rice", ["برنج"]),
         ("second", ["دوم"]), ("income", ["درآمد"]), ("country", ["کشور"])]


def df(tok: str) -> int:
    return {"چای": 40, "پژوهشکده": 300, "برنج": 500, "دوم": 900, "درآمد": 400, "کشور": 5000}.get(tok, 0)


def test_word_forms_match_inflected_words():
    forms = word_forms("سخنگوی فیفا و دومین تیم")
    assert {"سخنگوی", "سخنگو", "دومین", "دوم", "فیفا"} <= forms
    assert "فی" not in forms and "دو" not in forms  # never shorter than three letters


def test_the_paragraph_with_the_detail_wins_over_the_lead():
    scores = detail_scores(TERMS, {1: [10, 11, 12], 2: [20]}, PARAS.__getitem__, df, 13_000)
    assert scores[11] == 1.0  # rice, second, income: only here
    assert max(scores[10], scores[12]) < 0.6  # the story's frame: the tea institute, in two paragraphs
    assert scores[20] == 0.0  # an article holding none of the words


def test_a_word_every_paragraph_holds_tells_nothing():
    scores = detail_scores([("institute", ["پژوهشکده"])], {1: [10, 12]}, PARAS.__getitem__, df, 13_000)
    assert scores[10] == scores[12] == 1.0  # both hold it: a tie, neither is preferred
    only = detail_scores([("country", ["کشور"])], {1: [10, 11, 12]}, PARAS.__getitem__, df, 13_000)
    assert only[11] == 0.0 and only[10] == only[12] == 1.0


def test_unknown_words_and_no_terms_score_nothing():
    assert detail_scores([], {1: [10, 11]}, PARAS.__getitem__, df, 13_000) == {10: 0.0, 11: 0.0}
    unseen = detail_scores([("zebra", ["گورخر"])], {1: [10, 11]}, PARAS.__getitem__, df, 13_000)
    assert unseen == {10: 0.0, 11: 0.0}  # a translation absent from the index weighs nothing

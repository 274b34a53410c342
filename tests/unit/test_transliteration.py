"""index/transliteration.py: consonant skeletons across scripts and the full-spelling likeness."""
from __future__ import annotations

import pytest

from index.lexical import rank_spellings
from index.transliteration import likeness, skeleton_en, skeleton_fa


@pytest.mark.parametrize("latin, persian, skeleton", [
    ("tartus", "طرطوس", "trts"),
    ("khaju", "خواجو", "khj"),
    ("hmeimim", "حمیمیم", "hmmm"),
    ("zayandeh", "زاینده", "znd"),
    ("delvari", "دلواری", "dlr"),
])
def test_a_name_and_its_persian_spelling_share_a_skeleton(latin: str, persian: str, skeleton: str) -> None:
    assert skeleton_en(latin) == skeleton_fa(persian) == skeleton


def test_sound_alike_letters_share_a_class() -> None:
    # ت and ط, س ص and ث, ز ذ ض ظ are one consonant to a Latin reader
    assert skeleton_fa("تست") == skeleton_fa("طصط") == "tst"
    assert skeleton_fa("ثصس") == "sss"
    assert skeleton_fa("زذض") == "zzz"


def test_v_is_a_vowel_letter_except_the_russian_final_v() -> None:
    # و is a vowel as often as a consonant, so v is dropped, but -ov/-ev is written ف
    assert skeleton_en("lavrov") == skeleton_fa("لاوروف") == "lrf"
    assert skeleton_en("moscow") == "mskf"  # w → v, then the final v → f (مسکو still matches by prefix)


def test_short_or_foreign_words_have_no_skeleton() -> None:
    assert skeleton_en("ab") == "" and skeleton_fa("آب") == ""
    assert skeleton_en("Tartus") == ""  # lower-case only: callers normalize first
    assert skeleton_en("b2b") == ""
    assert skeleton_fa("abc") == ""  # not Persian letters


def test_likeness_prefers_the_right_spelling_among_same_skeletons() -> None:
    assert skeleton_fa("دلار") == skeleton_en("delvari")  # collide by consonants …
    assert likeness("delvari", "دلواری") > likeness("delvari", "دلار")  # … but not by full spelling
    assert 0.0 <= likeness("x", "طرطوس") < likeness("tartus", "طرطوس") <= 1.0
    assert likeness("", "طرطوس") == 0.0


def test_a_written_vowel_is_evidence_for_a_spelling() -> None:
    """Mosul, موصل and the common words مثل / مثال share the skeleton `msl`: the و that writes Mosul's
    o is evidence, so the name ranks with the best spellings instead of after three common words."""
    assert likeness("mosul", "موصل") > likeness("mosul", "مثل")
    df = {"مثل": 900, "مسوول": 300, "مثال": 200, "موصل": 4}.get
    assert "موصل" in rank_spellings("mosul", ["مثل", "مسوول", "مثال", "موصل"], df, 3)

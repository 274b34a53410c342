"""The Persian normalizer: each documented rule, plus properties (hypothesis)."""
from hypothesis import given, settings
from hypothesis import strategies as st

from index.language import detect_language
from index.normalizer import compact, normalize, tokenize


def test_arabic_letters_become_persian():
    assert normalize("كشور ايران") == normalize("کشور ایران") == "کشور ایران"
    assert normalize("مصطفى") == normalize("مصطفی")


def test_diacritics_tatweel_and_digits():
    assert normalize("مُحَمَّد") == "محمد"
    assert normalize("تهـــران") == "تهران"
    assert normalize("۱۴۰۴ ١٤٠٤ 1404") == "1404 1404 1404"


def test_zwnj_spellings_share_a_keyword_token():
    forms = ["رئیس‌جمهور", "رئیسجمهور", "رئیس جمهور", "رييس جمهور"]
    token_sets = [set(tokenize(f)) for f in forms]
    common = set.intersection(*token_sets)
    assert common, token_sets
    assert compact("رئیس‌جمهور") == compact("رئیس جمهور") == compact("رئیسجمهور")


def test_display_text_is_not_touched_by_matching():
    text = "رئيس‌جمهور"
    normalize(text)
    assert text == "رئيس‌جمهور"


def test_language_detection():
    assert detect_language("روسیه در طرطوس به دنبال چیست؟") == "fa"
    assert detect_language("What is Russia seeking in Tartus?") == "en"
    assert detect_language("دفاتر ICT روستایی") == "fa"


persian = st.text(alphabet=st.sampled_from(list("ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیيكىةۀأإآؤئ‌ ۰۱۲۳۴۵۶۷۸۹٠١٢ًٌٍَُِّْـ")),
                  max_size=60)


@settings(max_examples=300, deadline=None)
@given(st.one_of(persian, st.text(max_size=60)))
def test_normalize_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(persian)
def test_normalized_has_no_arabic_variants_or_persian_digits(text):
    out = normalize(text)
    assert not set(out) & set("يكىةأإؤئ\u200c\u0640۰۱۲۳۴۵۶۷۸۹٠١٢ًٌٍَُِّْ")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="ابپتجکگلمنوهی", min_size=2, max_size=6), min_size=2, max_size=5))
def test_any_zwnj_space_or_joined_spelling_matches(words):
    joined_zwnj = "\u200c".join(words)
    spaced = " ".join(words)
    assert compact(joined_zwnj) == compact(spaced) == compact("".join(words))
    # a two-word phrase typed without its ZWNJ still finds the spaced form by keyword
    pair = words[0] + words[1]
    assert normalize(pair) in tokenize(spaced) or len(normalize(pair)) <= 3

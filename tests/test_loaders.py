"""Loaders: every format, and every kind of bad input reported with its file (and line)."""
import json
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from index.errors import LoadError, LoadNote
from index.loaders import Limits, load_articles
from index.loaders.dates import date_from_url, parse_date
from index.loaders.text import parse_text_article
from index.models import Article

from .conftest import FARS, PQA, SEED, needs_shared
from .localhttp import LocalServer, article_html, rss


def split(items):
    items = list(items)
    arts = [i for i in items if isinstance(i, Article)]
    errs = [i for i in items if isinstance(i, LoadError)]
    return arts, errs


@needs_shared
def test_seed_format():
    (art,), errs = split(load_articles([str(SEED)]))
    assert not errs
    assert art.date == "2026-01-28"
    assert art.paragraphs[0].startswith("ولادیمیر پوتین")
    assert len(art.paragraphs) == 13
    (path,) = [p for p in SEED.iterdir() if p.suffix == ".txt"]
    assert art.url is None and art.article_id == f"file:{path.resolve()}"  # a one-article file is its path


@needs_shared
def test_fars_json_and_squad():
    arts, errs = split(load_articles([str(FARS / "fars-news-1.json")]))
    assert len(arts) == 300 and not errs
    a = arts[0]
    assert a.url == "https://www.farsnews.ir/news/8707060255"
    assert a.date == "2008-09-27"  # Jalali 1387-07-06 read from the Fars id
    assert a.paragraphs[0].startswith("خبرگزاري فارس")  # the lead comes first, as published
    pqa, errs = split(load_articles([str(PQA)]))
    assert len(pqa) == 93 and not errs


def test_simple_json_schema_and_jsonl_bad_line(tmp_path):
    good = {"title": "T", "text": "First paragraph here.\n\nSecond one.", "date": "1404-11-08",
            "url": "https://example.org/a", "lang": "en"}
    (tmp_path / "one.json").write_text(json.dumps(good))
    (tmp_path / "many.jsonl").write_text(
        json.dumps(good | {"url": "https://example.org/b"}) + "\n{broken json\n"
        + json.dumps({"title": "no text"}) + "\n")
    arts, errs = split(load_articles([str(tmp_path)]))
    assert {a.url for a in arts} == {"https://example.org/a", "https://example.org/b"}
    assert arts[0].date == "2026-01-28" and arts[0].paragraphs == ["First paragraph here.", "Second one."]
    msgs = sorted(str(e) for e in errs)
    assert any("many.jsonl:2" in m and "invalid JSON" in m for m in msgs), msgs
    assert any("many.jsonl:3" in m and "no paragraphs" in m for m in msgs), msgs


def test_markdown_header_and_title(tmp_path):
    p = tmp_path / "a.md"
    p.write_text("title: Hello\ndate: 2025-01-02\nurl: https://x.org/1\n\n# Hello\n\nOne **bold** [link](http://a).\n\n- two\n")
    (art,), _ = split(load_articles([str(p)]))
    assert art.title == "Hello" and art.date == "2025-01-02" and art.url == "https://x.org/1"
    assert art.paragraphs == ["One bold link.", "two"]


def test_a_title_taken_from_the_text_is_its_whole_first_sentence(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("Dr. Sarabi said exports grew by 3.5 percent. Imports fell.\n\nSecond paragraph.\n")
    (art,), _ = split(load_articles([str(p)]))
    assert art.title == "Dr. Sarabi said exports grew by 3.5 percent"


@pytest.mark.parametrize("name,content,reason", [
    ("empty.txt", b"", "empty"),
    ("blank.txt", b"   \n\n  ", "empty"),
    ("binary.txt", bytes(range(256)) * 40, "binary"),
    ("truncated.json", b'[{"title": "a", "paragraphs": ["x"', "invalid JSON"),
    ("invalid.json", b"{not json}", "invalid JSON"),
    ("noparas.json", json.dumps({"title": "t", "paragraphs": []}).encode(), "no paragraphs"),
    ("emptylist.json", b"[]", "no articles"),
])
def test_bad_files_are_reported_with_their_name(tmp_path, name, content, reason):
    p = tmp_path / name
    p.write_bytes(content)
    arts, errs = split(load_articles([str(p)]))
    assert not arts
    assert len(errs) == 1 and name in str(errs[0]) and reason in str(errs[0])


def test_truncated_json_names_the_line(tmp_path):
    p = tmp_path / "t.json"
    p.write_text('[\n{"title": "a",\n "paragraphs": ["x"]},\n{"title": ')
    _, (err,) = split(load_articles([str(p)]))
    assert err.line == 4 and "t.json:4" in str(err)


def test_missing_path_and_huge_file(tmp_path):
    big = tmp_path / "big.txt"
    with open(big, "wb") as fh:  # 50 MB, sparse: the size check must refuse it before reading
        fh.truncate(50 * 1024 * 1024)
    arts, errs = split(load_articles([str(tmp_path / "nope.txt"), str(big)]))
    assert not arts
    assert "no such file" in str(errs[0]) and "too large" in str(errs[1]) and "big.txt" in str(errs[1])


def test_windows_1256_and_utf16_are_decoded_with_a_note(tmp_path):
    text = "تهران پایتخت ایران است.\n\nاین یک خبر آزمایشی است."
    (tmp_path / "cp.txt").write_bytes(text.encode("cp1256", errors="replace"))
    (tmp_path / "u16.txt").write_bytes(text.encode("utf-16"))
    arts, errs = split(load_articles([str(tmp_path / "cp.txt"), str(tmp_path / "u16.txt")]))
    assert len(arts) == 2
    assert arts[1].paragraphs[0] == "تهران پایتخت ایران است."
    assert "تهران" in arts[0].paragraphs[0]
    notes = [str(e) for e in errs]
    assert any("cp.txt" in n and "Windows-1256" in n for n in notes)
    assert any("u16.txt" in n and "UTF-16" in n for n in notes)


def test_directory_walk_skips_readme_and_hidden(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("A paragraph of news.")
    (tmp_path / "README.md").write_text("# not an article")
    (tmp_path / ".hidden.txt").write_text("secret")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    arts, errs = split(load_articles([str(tmp_path)]))
    assert [a.paragraphs for a in arts] == [["A paragraph of news."]] and not errs


def test_html_page_and_feeds_over_http():
    srv = LocalServer()
    try:
        paras = ["The city council approved the new tram line on Tuesday after a long debate.",
                 "Construction is expected to start next spring and take three years to complete."]
        srv.set("/news/tram", article_html("Council approves tram line", paras))
        srv.set("/feed.xml", rss([
            {"title": "Council approves tram line", "link": srv.url + "/news/tram", "description": "Short."},
            {"title": "Full entry", "link": srv.url + "/news/full",
             "description": "A complete story that is carried entirely in the feed itself. " * 12},
        ]), ctype="application/rss+xml")
        srv.set("/slow.xml", "<rss/>", ctype="application/rss+xml", delay=3)
        srv.set("/notafeed.xml", "<html><body><p>hello</p></body></html>", ctype="text/html")
        local = Limits(allow_private=True)  # the operator allows 127.0.0.1 (KHABAR_ALLOW_PRIVATE_URLS=1)
        arts, errs = split(load_articles([srv.url + "/news/tram"], limits=local))
        assert arts[0].paragraphs == paras and arts[0].title == "Council approves tram line"
        arts, errs = split(load_articles([srv.url + "/feed.xml"], limits=local))
        assert [a.title for a in arts] == ["Council approves tram line", "Full entry"]
        assert arts[0].paragraphs == paras  # the summary-only entry got its full page
        assert arts[0].date == "2025-05-05"
        assert "/news/full" not in srv.hits  # a full-text entry is not fetched again
        _, errs = split(load_articles([srv.url + "/slow.xml"], limits=Limits(timeout=0.5, allow_private=True)))
        assert "timed out" in str(errs[0]) and "/slow.xml" in str(errs[0])
        arts, errs = split(load_articles([srv.url + "/missing"], limits=local))
        assert "HTTP 404" in str(errs[0])
    finally:
        srv.close()


def test_dates():
    assert parse_date("1404-11-08") == "2026-01-28"
    assert parse_date("۱۴۰۴/۱۱/۰۸") == "2026-01-28"
    assert parse_date("Wed, 28 Jan 2026 10:00:00 GMT") == "2026-01-28"
    assert parse_date("nonsense") is None
    assert parse_date("2025/12/02") == parse_date("1404/09/11") == parse_date("۱۱ آذر ۱۴۰۴") == "2025-12-02"
    assert parse_date("11 آذرماه 1404") == "2025-12-02" and parse_date("30 اسفند 1402") is None  # 1402 had 29
    assert parse_date("December 14, 2025") == parse_date("14 Dec 2025") == parse_date("Dec. 14th, 2025") == "2025-12-14"
    assert parse_date("11/12/2025") is None and parse_date("31 Feb 2025") is None  # day or month first? no such day
    assert date_from_url("https://www.farsnews.ir/news/13950404000869/x") == "2016-06-24"
    assert date_from_url("https://example.org/2024/05/01/story") == "2024-05-01"
    assert date_from_url("https://www.farsnews.ir/news/6010060837") is None  # not a date-based id


def test_header_dates_of_any_form_are_read_or_left_out_with_a_note(tmp_path):
    """A text header's date in another form than YYYY-MM-DD (a Jalali one, slashes) is read; one that is no
    date is left out with a note naming the file: the other files of the run are loaded all the same."""
    body = "\n\nThe museum of the town reopened its doors after two years of work on the old building.\n"
    for name, date in {"a.txt": "2025-12-02", "b.txt": "2025/12/02", "c.md": "۱۴۰۴/۰۹/۱۱",
                       "d.txt": "11 آذر 1404", "e.txt": "last Tuesday", "f.txt": "۹۹ آذر ۱۴۰۴\x1b[31m"}.items():
        (tmp_path / name).write_text(f"title: Museum {name}\ndate: {date}{body}", encoding="utf-8")
    items = list(load_articles([str(tmp_path)]))
    arts, errs = split(items)
    notes = [i for i in items if isinstance(i, LoadNote)]  # a note is a LoadError that loses nothing
    assert errs == notes
    assert {a.title: a.date for a in arts} == {"Museum a.txt": "2025-12-02", "Museum b.txt": "2025-12-02",
                                               "Museum c.md": "2025-12-02", "Museum d.txt": "2025-12-02",
                                               "Museum e.txt": None, "Museum f.txt": None}
    assert len(notes) == 2 and "e.txt" in str(notes[0]) and "last Tuesday" in str(notes[0])
    assert "۹۹ آذر" in str(notes[1]) and "\\x1b" in str(notes[1]) and "\x1b" not in str(notes[1])


def test_a_feeds_jalali_and_local_dates_are_read():
    srv = LocalServer()
    try:
        srv.set("/feed.xml", rss([{"title": "Jalali entry", "link": srv.url + "/news/j", "pubDate": "1404-09-11",
                                   "description": "A complete story that is carried entirely in the feed. " * 12},
                                  {"title": "Tehran morning", "link": srv.url + "/news/t",
                                   "pubDate": "Mon, 15 Dec 2025 01:00:00 +0330",
                                   "description": "Another complete story carried entirely in the feed. " * 12}]),
                ctype="application/rss+xml")
        arts, errs = split(load_articles([srv.url + "/feed.xml"], limits=Limits(allow_private=True)))
        assert not errs and [a.date for a in arts] == ["2025-12-02", "2025-12-15"]  # the feed's day, not UTC's
    finally:
        srv.close()


paragraph = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(paragraph.filter(lambda s: s.strip() and "\n" not in s), min_size=1, max_size=6))
def test_text_loader_keeps_every_paragraph(paras):
    # lines that the format reads as metadata (a # heading, `key: value`, --- front matter, the
    # seed's " date …" prefix) are not body text
    assume(not any(re.match(r"^\s*(#|---|date\s|(title|date|url|source|lang)\s*:)", p, re.I) for p in paras))
    text = "\n\n".join(paras)
    art = parse_text_article(text, "x.txt")
    assert len(art.paragraphs) <= len(paras)
    joined = (art.title + "".join(art.paragraphs)).replace(" ", "")
    assert all(ch in joined or ch.isspace() or ch in "*_`#>-+[]()!" for ch in "".join(paras))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_a_loader(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("fuzz")
    for name in ("f.txt", "f.json", "f.jsonl", "f.html", "f.xml"):
        (d / name).write_bytes(data)
    for item in load_articles([str(d)]):
        assert isinstance(item, (Article, LoadError))

"""index.dictionary: building the English-Persian file from persian-dict's data, and reading a question's terms."""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import tarfile

import pytest

import index.dictionary as dictionary_module
from index.dictionary import Dictionaries, Dictionary, base_forms, build_dictionary, download_source
from index.errors import DictionaryUnavailable
from tests.localhttp import LocalServer


def entry(en: str, *meanings: str) -> dict:
    return {"EnglishWord": en, "Meanings": list(meanings)}


def write_source(root, files: dict[str, list[dict] | str]) -> None:
    """persian-dict's layout: data/ata/<dictionary>/<letter>.json, a UTF-8 BOM like the real files."""
    for rel, words in files.items():
        path = root / "persian_dict-1.0.0" / "data" / "ata" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = words if isinstance(words, str) else json.dumps({"Group": rel[-6], "Words": words}, ensure_ascii=False)
        path.write_text(text, encoding="utf-8-sig")


@pytest.fixture
def source(tmp_path):
    root = tmp_path / "src"
    write_source(root, {
        "generic-1/R.json": [entry("rank", "رتبه\u200c", "درجه\u200c"), entry("ranks", "صفوف")],
        "generic-2/S.json": [entry("spokesman", "سخنران\u200c", "سخنگو"), entry("second", "دوم\u200c", "دومی\u200c")],
        "generic-2/P.json": [entry("pen name", "نام مستعار نویسنده\u200c", "تخلص نویسنده"),
                             entry("promise", "وعده\u200c", "قول دادن"), entry("pen", "قلم")],
        "generic-3/O.json": [entry("oil", "روغن", "نفت"), entry("a bird in the hand", "سیلی نقد")],
        "essential-english-words/N.json": [entry("name", "نام", "اسم")],
        "accounting-1/R.json": [entry("rank", "ردیف حسابداری")],  # a trade glossary: not read
        "generic-4/X.json": "{not json",
    })
    return root


def test_build_reads_the_general_dictionaries_only(source, tmp_path):
    dest = tmp_path / "out" / "en-fa.sqlite3"
    assert build_dictionary(source, dest) == 9
    d = Dictionary(dest)
    got = d.lookup(["rank", "spokesman", "pen name", "promise", "a bird in the hand", "missing"])
    assert got["rank"] == ["رتبه", "درجه"]  # not the accounting glossary's sense; ZWNJ trimmed
    assert got["spokesman"] == ["سخنران", "سخنگو"]
    assert "دادن" not in got["promise"] and got["promise"] == ["وعده", "قول"]  # light verbs are not translations
    assert "مستعار" in got["pen name"] and "تخلص" in got["pen name"]
    assert "a bird in the hand" not in got and "missing" not in got  # idioms of 3+ words are left out
    assert oct(dest.stat().st_mode & 0o777) == "0o644"


def test_build_from_the_sdist_archive(source, tmp_path):
    sdist = tmp_path / "persian_dict-1.0.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        tar.add(source / "persian_dict-1.0.0", arcname="persian_dict-1.0.0")
    dest = tmp_path / "en-fa.sqlite3"
    assert build_dictionary(sdist, dest) == 9
    assert Dictionary(dest).lookup(["oil"])["oil"] == ["روغن", "نفت"]


def test_rebuild_replaces_the_file_a_reader_has_open(source, tmp_path):
    dest = tmp_path / "en-fa.sqlite3"
    build_dictionary(source, dest)
    reader = Dictionary(dest)
    write_source(source, {"generic-5/W.json": [entry("wheat", "گندم")]})
    build_dictionary(source, dest)
    assert reader.lookup(["rank"])["rank"] == ["رتبه", "درجه"]  # the old file stays readable to it
    assert Dictionary(dest).lookup(["wheat"]) == {"wheat": ["گندم"]}
    assert {p.name for p in tmp_path.iterdir()} == {"src", "en-fa.sqlite3"}  # no temporary file left


def test_no_entries_is_an_error_and_nothing_is_written(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DictionaryUnavailable) as e:
        build_dictionary(tmp_path / "empty", tmp_path / "en-fa.sqlite3")
    assert "no dictionary entries" in e.value.message("en") and e.value.message("fa").startswith("واژه‌نامه")
    assert not (tmp_path / "en-fa.sqlite3").exists()


def test_question_terms(source, tmp_path):
    write_source(source, {"generic-6/M.json": [entry("many people", "بسیاری مردم")]})
    dest = tmp_path / "en-fa.sqlite3"
    build_dictionary(source, dest)
    d = Dictionary(dest)
    terms = dict(d.terms("Which industry did the director say ranks second in Iran after oil?"))
    assert terms["ranks"][:2] == ["رتبه", "درجه"]  # the base form's senses first, then the word's own
    assert "صفوف" in terms["ranks"]
    assert terms["second"] == ["دوم", "دومی"] and terms["oil"] == ["روغن", "نفت"]
    assert not {"which", "did", "say"} & set(terms)
    phrase = dict(d.terms("What pen name does the poet write under?"))
    assert "pen name" in phrase and "pen" not in phrase and "name" not in phrase  # the phrase takes its words
    assert d.terms("How many did they say?") == []
    assert "many people" not in dict(d.terms("How many people ranked second?"))  # the question's form is no phrase


def test_english_for_finds_a_persian_word_in_english_text(source, tmp_path):
    write_source(source, {"generic-6/T.json": [entry("tent", "چادر", "خیمه"), entry("blanket", "پتو"),
                                               entry("cultivation", "کشت"), entry("teacher", "مدرس"),
                                               entry("champion", "قهرمان")]})
    dest = tmp_path / "en-fa.sqlite3"
    build_dictionary(source, dest)
    d = Dictionary(dest)
    english = {"the", "red", "crescent", "sent", "tents", "and", "blankets", "متن"}
    assert d.english_for({"چادر"}, english) == {"tents"}  # by the base form "tent"
    assert d.english_for({"چادرها"}, english) == {"tents"}  # a Persian plural suffix is read off
    assert d.english_for({"پتو", "چادر"}, english) == {"tents", "blankets"}
    assert d.english_for({"خانه"}, english) == set() and d.english_for(set(), []) == set()
    # only a suffix is read off, and ان / ی leave 4 letters: a ship (کشتی) is no cultivation, a school no teacher
    assert d.english_for({"کشتی", "مدرسه"}, {"cultivation", "teachers"}) == set()
    assert d.known(["champions", "guards", "tent"]) == {"champions", "tent"}  # by the base form
    # more words than one statement may bind
    assert len(d.lookup([f"w{i}" for i in range(2000)] + ["tent"])) == 1


def test_base_forms():
    assert base_forms("ranks") == ["ranks", "rank"]
    assert "promise" in base_forms("promised") and "identify" in base_forms("identified")
    assert base_forms("oil") == ["oil"]  # too short to strip


def test_open_without_a_usable_file(tmp_path, caplog):
    assert Dictionary.open(None) is None
    assert Dictionary.open(tmp_path / "none.sqlite3") is None
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"not a database" * 100)
    with caplog.at_level(logging.WARNING, logger="index.dictionary"):
        assert Dictionary.open(broken) is None
    assert "not used" in caplog.text
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    assert Dictionary.open(other) is None


@pytest.fixture
def index_server():
    server = LocalServer()
    yield server
    server.close()


def test_download_checks_the_hash_before_reading(index_server, tmp_path):
    """A package index (JSON or HTML simple page) serving another archive under the name: refused, removed."""
    sdist = "persian_dict-1.0.0.tar.gz"
    index_server.set("/files/" + sdist, b"\x1f\x8b not the real archive", ctype="application/gzip")
    index_server.set("/simple/persian-dict/", json.dumps({"files": [
        {"filename": "persian_dict-1.0.0-py3-none-any.whl", "url": "/files/x.whl"},
        {"filename": sdist, "url": "/files/" + sdist}]}), ctype="application/vnd.pypi.simple.v1+json")
    with pytest.raises(DictionaryUnavailable) as e:
        download_source(tmp_path, index_server.url + "/simple", timeout=10)
    assert "sha256" in e.value.detail and not (tmp_path / sdist).exists()
    index_server.set("/simple/persian-dict/", f'<a href="../../files/{sdist}#sha256=00">{sdist}</a>')
    with pytest.raises(DictionaryUnavailable, match="sha256"):
        download_source(tmp_path, index_server.url + "/simple/", timeout=10)
    assert index_server.hits.count("/files/" + sdist) == 2


def test_index_pages_as_mirrors_write_them(index_server, tmp_path):
    """Single quotes and entities in an HTML page, a redirect before it (links relative to where it ended),
    and a JSON page whose file list is not a list."""
    sdist = "persian_dict-1.0.0.tar.gz"
    index_server.set("/real/files/" + sdist + "?x=1&y=2", b"other bytes", ctype="application/gzip")
    index_server.set("/real/simple/persian-dict/", f"<a href='../../files/{sdist}?x=1&amp;y=2#sha256=00'>{sdist}</a>")
    index_server.redirect("/mirror/persian-dict/", "/real/simple/persian-dict/", status=301)
    with pytest.raises(DictionaryUnavailable, match="sha256"):
        download_source(tmp_path, index_server.url + "/mirror", timeout=10)
    assert "/real/files/" + sdist + "?x=1&y=2" in index_server.hits
    index_server.set("/odd/persian-dict/", json.dumps({"files": None}), ctype="application/json")
    with pytest.raises(DictionaryUnavailable, match="no persian_dict"):
        download_source(tmp_path, index_server.url + "/odd", timeout=10)


def test_a_cut_transfer_leaves_no_file(index_server, tmp_path):
    sdist = "persian_dict-1.0.0.tar.gz"
    index_server.set("/simple/persian-dict/", f'<a href="/files/{sdist}">{sdist}</a>')
    # the server promises more bytes than it sends, then closes: a transfer cut short
    index_server.set("/files/" + sdist, b"x" * 100, headers={"Content-Length": "5000"})
    with pytest.raises(DictionaryUnavailable):
        download_source(tmp_path, index_server.url + "/simple", timeout=10)
    assert list(tmp_path.iterdir()) == []


def test_download_failures_are_reported(index_server, tmp_path):
    with pytest.raises(DictionaryUnavailable, match="404"):  # the project is not on this index
        download_source(tmp_path, index_server.url + "/simple", timeout=10)
    index_server.set("/simple/persian-dict/", json.dumps({"files": []}), ctype="application/json")
    with pytest.raises(DictionaryUnavailable, match="no persian_dict-1.0.0.tar.gz"):
        download_source(tmp_path, index_server.url + "/simple", timeout=10)
    index_server.set("/simple/persian-dict/", json.dumps({"files": [
        {"filename": "persian_dict-1.0.0.tar.gz", "url": "/big"}]}), ctype="application/json")
    index_server.set("/big", b"0" * 2048)
    old = dictionary_module.SDIST_MAX_BYTES
    dictionary_module.SDIST_MAX_BYTES = 1024
    try:
        with pytest.raises(DictionaryUnavailable, match="larger than"):
            download_source(tmp_path, index_server.url + "/simple", timeout=10)
    finally:
        dictionary_module.SDIST_MAX_BYTES = old
    closed = LocalServer()
    closed.close()
    with pytest.raises(DictionaryUnavailable):  # nobody listening
        download_source(tmp_path, closed.url + "/simple", timeout=5)


def test_hostile_and_broken_sources(tmp_path):
    root = tmp_path / "src"
    write_source(root, {
        "generic-1/A.json": json.dumps({"Words": 5}),
        "generic-1/B.json": json.dumps({"Words": [{"EnglishWord": "bad", "Meanings": None}, "text",
                                                  entry("boat", "قایق")]}),
        "generic-1/C.json": "[" * 100_000,
        "generic-1/D.json": "{\"Words\": [" + "9" * 5000 + "]}",
        "generic-1/E.json": b"\xff\xfe broken".decode("latin-1"),
    })
    assert build_dictionary(root, tmp_path / "d.sqlite3") == 1  # the one well-formed entry
    assert Dictionary(tmp_path / "d.sqlite3").lookup(["boat", "bad"]) == {"boat": ["قایق"]}
    truncated = tmp_path / "cut.tar.gz"
    with tarfile.open(tmp_path / "whole.tar.gz", "w:gz") as tar:
        tar.add(root, arcname="persian_dict-1.0.0")
    truncated.write_bytes((tmp_path / "whole.tar.gz").read_bytes()[:200])
    with pytest.raises(DictionaryUnavailable):
        build_dictionary(truncated, tmp_path / "t.sqlite3")
    with pytest.raises(DictionaryUnavailable):
        build_dictionary(tmp_path / "not-there.tar.gz", tmp_path / "t.sqlite3")
    assert not (tmp_path / "t.sqlite3").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_unwritable_destination_says_what_to_set(source, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(DictionaryUnavailable, match="KHABAR_DICTIONARY"):
        build_dictionary(source, locked / "sub" / "en-fa.sqlite3")


def test_unwritable_destination_under_a_file(source, tmp_path):
    (tmp_path / "plain-file").write_text("x")
    with pytest.raises(DictionaryUnavailable, match="KHABAR_DICTIONARY"):
        build_dictionary(source, tmp_path / "plain-file" / "en-fa.sqlite3")


def test_damaged_in_place_searches_without_it(source, tmp_path, caplog):
    dest = tmp_path / "en-fa.sqlite3"
    build_dictionary(source, dest)
    d = Dictionary(dest)
    assert d.lookup(["oil"])
    with open(dest, "r+b") as f:  # copied over in place, not renamed: the open connection reads garbage
        f.seek(0)
        f.write(b"\0" * dest.stat().st_size)
    with caplog.at_level(logging.WARNING, logger="index.dictionary"):
        assert d.lookup(["oil"]) == {} and d.lookup(["rank"]) == {}
        assert d.terms("Which oil rank?") == []
        assert d.known(["oil"]) is None and d.english_for({"نفت"}, {"oil"}) == set()  # unknown, not "no headword"
    assert caplog.text.count("unreadable") == 1


def test_a_searcher_sees_the_file_appear_and_be_rebuilt(source, tmp_path, monkeypatch):
    monkeypatch.setattr(dictionary_module, "RECHECK_SECONDS", 0.0)
    dest = tmp_path / "en-fa.sqlite3"
    current = Dictionaries(dest)
    assert current.get() is None
    build_dictionary(source, dest)
    first = current.get()
    assert first is not None and first.lookup(["oil"])
    assert current.get() is first  # unchanged file: the same connection
    write_source(source, {"generic-5/W.json": [entry("wheat", "گندم")]})
    build_dictionary(source, dest)
    assert current.get() is not first and current.get().lookup(["wheat"]) == {"wheat": ["گندم"]}
    dest.unlink()
    assert current.get() is None

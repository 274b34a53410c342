"""index.dictionary: building the English-Persian file from persian-dict's data, and reading a question's terms."""
from __future__ import annotations

import json
import logging
import sqlite3
import tarfile

import pytest

from index.dictionary import Dictionary, base_forms, build_dictionary, download_source
from index.errors import DictionaryUnavailable


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
    assert [p.name for p in tmp_path.iterdir()] == ["src", "en-fa.sqlite3"]  # no temporary file left


def test_no_entries_is_an_error_and_nothing_is_written(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DictionaryUnavailable) as e:
        build_dictionary(tmp_path / "empty", tmp_path / "en-fa.sqlite3")
    assert "no dictionary entries" in e.value.message("en") and e.value.message("fa").startswith("واژه‌نامه")
    assert not (tmp_path / "en-fa.sqlite3").exists()


def test_question_terms(source, tmp_path):
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


def test_download_failure_is_reported(tmp_path, monkeypatch):
    # an index with nothing in it (a file: URL, so no network): pip fails and says why
    (tmp_path / "index").mkdir()
    monkeypatch.setenv("PIP_INDEX_URL", (tmp_path / "index").as_uri())
    monkeypatch.setenv("PIP_NO_INPUT", "1")
    with pytest.raises(DictionaryUnavailable) as e:
        download_source(tmp_path / "dl", timeout=120)
    assert "persian-dict" in e.value.detail

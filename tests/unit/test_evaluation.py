"""bot/core/evaluation.py: our own sets refer to the shared data instead of copying it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.evaluation import is_hit, load_eval_set
from index.errors import LoadError
from index.models import StoredPassage

URL = "https://example.org/news/1"


def _shared(tmp_path: Path) -> Path:
    (tmp_path / "eval").mkdir()
    (tmp_path / "corpora" / "fars-news").mkdir(parents=True)
    (tmp_path / "eval" / "fars_titles_dev.jsonl").write_text(
        json.dumps({"id": "fars-title-7", "lang": "fa", "question": "t", "gold_url": URL}) + "\n")
    art = {"title": "t", "abstract": "a", "link": URL,
           "paragraphs": ["اولین بند خبر.", "تیم شاهرود در سکوی دوم ایستاد."]}
    (tmp_path / "corpora" / "fars-news" / "fars-news-1.json").write_text(json.dumps([art], ensure_ascii=False))
    return tmp_path


def test_evidence_ref_resolves_into_the_shared_article(tmp_path: Path) -> None:
    shared = _shared(tmp_path)
    rows = [{"id": "fr-001", "lang": "en", "question": "Who came second?", "gold_ref": "fars-title-7",
             "evidence_ref": [[1, 4, 10]]}]
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    [item] = load_eval_set(path, refs=shared / "eval" / "fars_titles_dev.jsonl")
    assert item.gold_sources == [URL] and item.evidence == ["شاهرود"]
    meta = StoredPassage(article_id="x", url=URL, source="")
    assert is_hit(item, meta, "تيم شاهرود در سكوي دوم")  # Arabic letters normalize to the same text
    assert not is_hit(item, meta, "اولین بند خبر.")


def test_an_evidence_ref_pointing_nowhere_names_the_line(tmp_path: Path) -> None:
    shared = _shared(tmp_path)
    path = tmp_path / "set.jsonl"
    path.write_text("\n" + json.dumps({"id": "fr-002", "question": "q", "gold_ref": "fars-title-7",
                                       "evidence_ref": [[5, 0, 3]]}) + "\n")
    with pytest.raises(LoadError) as err:
        load_eval_set(path, refs=shared / "eval" / "fars_titles_dev.jsonl")
    assert err.value.line == 2 and "points nowhere" in err.value.reason
    path.write_text(json.dumps({"id": "fr-003", "question": "q", "gold_ref": "fars-title-7",
                                "evidence_ref": [[-1, 0, 3]]}) + "\n")
    with pytest.raises(LoadError, match="points nowhere"):
        load_eval_set(path, refs=shared / "eval" / "fars_titles_dev.jsonl")


@pytest.mark.parametrize("row", ['[1, 2]', '"just text"', '{"id": "x"}', '{"question": 7}',
                                 '{"question": "q", "gold_source": ["../../etc/passwd"]}',
                                 '{"question": "q", "evidence": [{"a": 1}]}', '{"question": "q", "evidence": "x"}',
                                 '{"question": "q", "lang": null}'])
def test_a_row_of_the_wrong_shape_names_its_line(tmp_path: Path, row: str) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"id": "ok", "question": "q", "evidence": ["e"], "gold_source": URL}) + "\n" + row + "\n")
    with pytest.raises(LoadError) as err:
        load_eval_set(path)
    assert err.value.line == 2


def test_a_gold_ref_without_the_shared_data_is_an_error_not_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"id": "fr-004", "question": "q", "gold_ref": "fars-title-7"}) + "\n")
    with pytest.raises(LoadError, match="fars-title-7") as err:
        load_eval_set(path, refs=tmp_path / "missing" / "fars_titles_dev.jsonl")
    assert err.value.line == 1

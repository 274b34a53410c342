"""The bounds every loader works within (download deadline and size, private addresses, nesting, length)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..settings import IndexSettings


@dataclass(frozen=True)
class Limits:
    """Loader limits, built from Settings by the entry point (`Limits.from_settings`) and passed down.

    The defaults are the documented ones (README, "Limits"); tests that fetch from 127.0.0.1 pass
    `allow_private=True` as an operator would set KHABAR_ALLOW_PRIVATE_URLS=1.
    """

    timeout: float = 15.0  # total seconds per download (connect, headers and body together)
    max_bytes: int = 20_000_000  # per file and per download
    allow_private: bool = False  # fetch private, loopback, link-local and metadata addresses too
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)  # hosts exempt from that check
    max_redirects: int = 5
    max_json_depth: int = 64  # nesting of arrays and objects in a JSON document or line
    max_paragraphs: int = 200_000  # per article

    @classmethod
    def from_settings(cls, settings: IndexSettings) -> Limits:
        """The limits configured in a Settings object (KHABAR_FETCH_TIMEOUT, KHABAR_MAX_FILE_MB, …)."""
        return cls(timeout=settings.fetch_timeout, max_bytes=int(settings.max_file_mb * 1_000_000),
                   allow_private=settings.allow_private_urls,
                   allowed_hosts=frozenset(settings.fetch_allowed_host_list()),
                   max_redirects=settings.fetch_max_redirects, max_json_depth=settings.max_json_depth,
                   max_paragraphs=settings.max_article_paragraphs)

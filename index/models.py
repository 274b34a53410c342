"""Plain data records of the index: Article (as loaded), Passage (as chunked), StoredPassage and
ArticleSummary (as stored and read back)."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Article:
    """One news article as a loader produced it; paragraphs are as published."""

    title: str
    paragraphs: list[str]
    url: str | None = None
    date: str | None = None  # ISO YYYY-MM-DD
    source: str = ""  # file path or feed/site name
    lang: str | None = None
    origin: str = ""  # where it was read from: "path" or "path:line"
    # a one-article local file (text, Markdown, HTML page), resolved: what it is when it has no URL, so
    # an edited file replaces its earlier version instead of standing beside it
    path: str | None = None
    feed_entry: bool = False  # an entry of an RSS/Atom feed (a watched URL that was a feed must stay one)

    @property
    def article_id(self) -> str:
        """Stable id: the URL when known, else its file's path (a one-article file), else a content hash."""
        return self.url or (f"file:{self.path}" if self.path else "sha1:" + self.content_hash()[:20])

    def content_hash(self) -> str:
        """Hash of the title and paragraphs exactly as published."""
        h = hashlib.sha1()
        for part in [self.title, self.date or "", *self.paragraphs]:
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()


@dataclass
class Passage:
    """A searchable, citable piece of a paragraph (a whole paragraph unless it was very long)."""

    id: str
    article_id: str
    text: str
    paragraph: int  # 1-based, as the reader counts paragraphs
    part: int  # 0-based piece within the paragraph
    start: int  # character offsets within the paragraph text
    end: int
    title: str = ""
    date: str | None = None
    url: str | None = None
    source: str = ""
    lang: str = "fa"
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StoredPassage:
    """A passage's metadata as stored in Chroma, read through this one typed record (not dict keys)."""

    article_id: str
    title: str = ""
    date: str = ""  # ISO YYYY-MM-DD or "" (Chroma refuses None)
    url: str = ""
    source: str = ""
    lang: str = "fa"
    paragraph: int = 0
    part: int = 0
    start: int = 0
    end: int = 0
    content_hash: str = ""
    norm_hash: str = ""
    n_passages: int = 0  # passages of the whole article: a reader sees the article only when all are stored

    @property
    def date_num(self) -> int:
        """The date as YYYYMMDD (0 when unknown), for numeric range filters in Chroma."""
        try:  # loaders store ISO dates; an older index's raw header date must not break a write
            return int(self.date.replace("-", "")) if self.date else 0
        except ValueError:
            return 0

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> StoredPassage:
        """The record for Chroma metadata (unknown keys ignored, missing ones defaulted)."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in meta.items() if k in known})

    def to_meta(self) -> dict[str, Any]:
        """Chroma metadata: every field plus `date_num` (no None values: Chroma refuses them)."""
        return {**asdict(self), "date_num": self.date_num}


@dataclass(frozen=True)
class ArticleSummary:
    """One live article as the index knows it (read through this record, not dict keys)."""

    article_id: str
    title: str = ""
    date: str = ""  # ISO YYYY-MM-DD or ""
    url: str = ""
    source: str = ""
    lang: str = "fa"
    content_hash: str = ""
    norm_hash: str = ""
    n_passages: int = 0
    paragraphs: int = 0  # the highest paragraph number among its passages

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> ArticleSummary:
        """The record for a stored summary (unknown keys ignored, missing or None ones defaulted)."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in meta.items() if k in known and v is not None})

    def to_json(self) -> dict[str, Any]:
        """The summary as a JSON object (`khabar index list --json`)."""
        return asdict(self)

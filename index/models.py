"""Plain data records of the index: Article (as loaded) and Passage (as stored)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


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

    @property
    def article_id(self) -> str:
        """Stable id: the URL when known, else a hash of the content."""
        return self.url or "sha1:" + self.content_hash()[:20]

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

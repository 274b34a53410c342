"""RSS/Atom feeds with feedparser; entries carrying only a summary get their full page fetched."""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import feedparser

from ..errors import LoadError, LoadNote
from ..models import Article
from .dates import parse_date
from .html import parse_html_article

FULL_TEXT_CHARS = 600  # an entry body shorter than this is taken as a summary only


def looks_like_feed(data: bytes) -> bool:
    """True when the bytes start like an RSS or Atom document."""
    head = data[:2048].lstrip().lower()
    return head.startswith(b"<?xml") and (b"<rss" in head or b"<feed" in head or b"<rdf" in head) \
        or head.startswith((b"<rss", b"<feed", b"<rdf"))


def iter_feed(data: bytes, source: str, fetch_page: Callable[[str], tuple[str, str]] | None
              ) -> Iterator[Article | LoadError]:
    """Yield the feed's entries as articles; `fetch_page(url)` returns (html, final_url) for full text."""
    parsed = feedparser.parse(data)
    if not parsed.get("entries"):
        if parsed.get("bozo") and not parsed.get("feed"):
            raise LoadError(source, "not an RSS/Atom feed")
        raise LoadError(source, "the feed has no entries")
    site = parsed.get("feed", {}).get("title") or source
    for i, entry in enumerate(parsed.entries):
        link = entry.get("link")
        body = ""
        if entry.get("content"):
            body = "\n\n".join(c.get("value", "") for c in entry.content)
        body = body or entry.get("summary", "")
        date = _entry_date(entry)
        try:
            article = None
            if fetch_page and link and link.lower().startswith(("http://", "https://")) \
                    and len(_strip_tags(body)) < FULL_TEXT_CHARS:
                try:
                    html, final = fetch_page(link)
                    article = parse_html_article(html, link, url=link)
                except LoadError as exc:
                    if not body.strip():
                        raise LoadError(f"{source}#{i}", f"{link}: {exc.reason}") from None
                    # the entry is kept (its summary): a note, not a failure
                    note = LoadNote(f"{source}#{i}", f"full text unavailable, summary kept ({link}: {exc.reason})")
                    note.link = link  # marks the entry as summary-only (the watcher keeps a stored full text)
                    yield note
            if article is None:
                article = parse_html_article(f"<html><body><article>{body}</article></body></html>",
                                             link or source, url=link) if "<" in body \
                    else Article(title="", paragraphs=[p for p in body.split("\n") if p.strip()], url=link)
            article.title = entry.get("title") or article.title
            article.date = date or article.date
            article.url = link or article.url
            article.source = site
            article.origin = f"{source}#{i}"
            article.feed_entry = True
            if not article.paragraphs:
                raise LoadError(f"{source}#{i}", "the entry has no text")
            yield article
        except LoadError as exc:  # named by the feed and entry number, whatever page it came from
            err = exc if exc.source.startswith(f"{source}#") else \
                LoadError(f"{source}#{i}", f"{exc.source}: {exc.reason}")
            err.link = link.strip() if isinstance(link, str) else None
            yield err


def _entry_date(entry: Any) -> str | None:
    # the date as written first: the feed's own day ("Mon, 15 Dec 2025 01:00:00 +0330" is the 15th, which
    # feedparser's UTC struct makes the 14th); the struct for forms parse_date does not read
    written = parse_date(entry.get("published") or entry.get("updated"))
    if written:
        return written
    for key in ("published_parsed", "updated_parsed"):
        st = entry.get(key)
        if st:
            return time.strftime("%Y-%m-%d", st)
    return None


def _strip_tags(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)

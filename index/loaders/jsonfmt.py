"""JSON and JSON Lines articles: the Fars schema, a simple {title, text, date, url, lang} one, SQuAD."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator

from ..errors import LoadError
from ..models import Article
from .dates import date_from_url, parse_date

_BLANK = re.compile(r"\n\s*\n")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
MAX_DEPTH = 64


def check_depth(text: str, source: str, limit: int = MAX_DEPTH, line: int | None = None) -> None:
    """LoadError when arrays/objects nest deeper than `limit` (the parser would recurse that deep)."""
    depth = 0
    for m in _BRACKET.finditer(_STRING.sub("", text)):
        if m.group() in "[{":
            depth += 1
            if depth > limit:
                raise LoadError(source, f"JSON nested deeper than {limit} levels (KHABAR_MAX_JSON_DEPTH)", line)
        else:
            depth -= 1


def article_from_record(rec: object, source: str, origin: str) -> Article:
    """Build an Article from one JSON object (Fars or simple schema); LoadError when unusable."""
    if not isinstance(rec, dict):
        raise LoadError(origin, f"expected an object, got {type(rec).__name__}")
    title = _str(rec.get("title") or rec.get("headline"))
    paras = rec.get("paragraphs")
    if isinstance(paras, list):
        paragraphs = [_str(p.get("context") if isinstance(p, dict) else p) for p in paras]
    else:
        body = _str(rec.get("text") or rec.get("body") or rec.get("content"))
        paragraphs = [b for b in _BLANK.split(body.replace("\r\n", "\n"))] if body else []
        if len(paragraphs) == 1 and "\n" in paragraphs[0]:
            paragraphs = paragraphs[0].split("\n")
    lead = _str(rec.get("abstract") or rec.get("summary") or rec.get("lead"))
    paragraphs = [" ".join(p.split()) for p in paragraphs if p and p.strip()]
    if lead and (not paragraphs or " ".join(lead.split()) != paragraphs[0]):
        paragraphs.insert(0, " ".join(lead.split()))
    if not paragraphs:
        raise LoadError(origin, "the article has no paragraphs")
    url = _str(rec.get("url") or rec.get("link")) or None
    date = parse_date(rec.get("date") or rec.get("published")) or date_from_url(url)
    return Article(title=title or paragraphs[0][:120], paragraphs=paragraphs, url=url, date=date,
                   source=_str(rec.get("source")) or source, lang=_str(rec.get("lang")) or None,
                   origin=origin)


def _str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def iter_json(text: str, source: str, max_depth: int = MAX_DEPTH) -> Iterator[Article | LoadError]:
    """Yield the articles of a JSON document (list of articles, {articles: [...]}, one article, SQuAD)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(source, f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from exc
    except RecursionError:
        doc = None
    check_depth(text, source, max_depth)
    if doc is None and text.strip() != "null":
        raise LoadError(source, "too deeply nested to read")
    if isinstance(doc, dict) and isinstance(doc.get("data"), list) and _is_squad(doc["data"]):
        yield from _iter_squad(doc["data"], source)
        return
    if isinstance(doc, dict) and isinstance(doc.get("articles"), list):
        doc = doc["articles"]
    records = doc if isinstance(doc, list) else [doc]
    if not records:
        raise LoadError(source, "the JSON holds no articles")
    for i, rec in enumerate(records):
        try:
            yield article_from_record(rec, source, f"{source}#{i}")
        except LoadError as exc:
            yield exc


def iter_jsonl(text: str, source: str, max_depth: int = MAX_DEPTH) -> Iterator[Article | LoadError]:
    """Yield one article per JSON Lines line; a bad line is reported with its number and skipped."""
    seen = False
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        seen = True
        try:
            check_depth(line, source, max_depth, lineno)
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            yield LoadError(source, f"invalid JSON: {exc.msg}", lineno)
            continue
        except LoadError as exc:
            yield exc
            continue
        except RecursionError:
            yield LoadError(source, "too deeply nested to read", lineno)
            continue
        try:
            yield article_from_record(rec, source, f"{source}:{lineno}")
        except LoadError as exc:
            yield LoadError(source, exc.reason, lineno)
    if not seen:
        raise LoadError(source, "the file is empty")


def _is_squad(data: list) -> bool:
    first = data[0] if data else None
    return isinstance(first, dict) and isinstance(first.get("paragraphs"), list) and bool(
        first["paragraphs"]) and isinstance(first["paragraphs"][0], dict) and "context" in first["paragraphs"][0]


def _iter_squad(data: list, source: str) -> Iterator[Article | LoadError]:
    """SQuAD-format data (e.g. PersianQA): one article per title, its contexts as paragraphs."""
    for i, item in enumerate(data):
        try:
            yield article_from_record(
                {"title": item.get("title"), "paragraphs": item.get("paragraphs", [])},
                source, f"{source}#{i}")
        except (LoadError, AttributeError) as exc:
            yield exc if isinstance(exc, LoadError) else LoadError(source, f"item {i}: not an object")

"""Plain text and Markdown articles: one per file, paragraphs split by blank lines."""
from __future__ import annotations

import re

from ..models import Article
from ..text import HARD_STOP, split_sentences

_DATE_PREFIX = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\s*")
_FIELD = re.compile(r"^(title|date|url|source|lang)\s*:\s*(.+)$", re.IGNORECASE)
_MD_NOISE = re.compile(r"(\*\*|__|`|^>\s?|^[-*+]\s+)", re.MULTILINE)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_BLANK = re.compile(r"\n\s*\n")


def parse_text_article(text: str, source: str) -> Article:
    """Parse a text/Markdown article: optional ` date YYYY-MM-DD ` prefix, `# title`, `key: value` header."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    fields: dict[str, str] = {}
    m = _DATE_PREFIX.match(text)
    if m:  # the seed format: " date 2026-01-28 " then the first paragraph on the same line
        fields["date"] = m.group(1)
        text = text[m.end():]
    lines = text.split("\n")
    # A front-matter block (--- … ---) or leading `key: value` lines carry metadata.
    if lines and lines[0].strip() == "---" and "---" in [ln.strip() for ln in lines[1:]]:
        end = [ln.strip() for ln in lines[1:]].index("---") + 1
        for ln in lines[1:end]:
            fm = _FIELD.match(ln.strip())
            if fm:
                fields[fm.group(1).lower()] = fm.group(2).strip().strip("\"'")
        lines = lines[end + 1:]
    else:
        while lines and _FIELD.match(lines[0].strip()):
            fm = _FIELD.match(lines.pop(0).strip())
            if fm:  # always: the loop condition matched this line
                fields[fm.group(1).lower()] = fm.group(2).strip()
    body = "\n".join(lines).strip()
    if body.startswith("#"):
        head, _, body = body.partition("\n")
        fields.setdefault("title", head.lstrip("#").strip())
    paragraphs = []
    for block in _BLANK.split(body):
        block = _MD_LINK.sub(r"\1", block)
        block = _MD_NOISE.sub("", block)
        block = re.sub(r"^#+\s*", "", block, flags=re.MULTILINE)
        block = " ".join(ln.strip() for ln in block.split("\n") if ln.strip())
        if block:
            paragraphs.append(block)
    title = fields.get("title") or (_first_sentence(paragraphs[0]) if paragraphs else "")
    return Article(title=title, paragraphs=paragraphs, url=fields.get("url"), date=fields.get("date"),
                   source=fields.get("source") or source, lang=fields.get("lang"), origin=source)


def _first_sentence(text: str, limit: int = 140) -> str:
    # the shared sentence rule: "3.5 million" or "Dr. Sarabi" does not end the title
    spans = split_sentences(text)
    if spans and spans[0][1] <= limit + 1:
        s, e = spans[0]
        return re.sub(HARD_STOP + "+$", "", text[s:e]).strip()
    return text[:limit].strip() + ("…" if len(text) > limit else "")

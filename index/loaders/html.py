"""HTML pages: main-text extraction with trafilatura, paragraphs kept."""
from __future__ import annotations

import trafilatura

from ..errors import LoadError
from ..models import Article
from .dates import date_from_url, parse_date


def parse_html_article(html: str, source: str, url: str | None = None) -> Article:
    """Extract the article (title, date, paragraphs) from an HTML page; LoadError when none is found."""
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      include_tables=False, favor_precision=True)
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or not text.strip():
        raise LoadError(source, "no article text found in the HTML page")
    paragraphs = [ln.strip() for ln in text.split("\n") if ln.strip()]
    title = (getattr(doc, "title", None) or "").strip() or paragraphs[0][:120]
    if len(paragraphs) > 1 and paragraphs[0].strip().lstrip("#").strip() == title:
        paragraphs = paragraphs[1:]  # the page's own <h1> heading, not a paragraph
    date = parse_date(getattr(doc, "date", None)) or date_from_url(url)
    site = getattr(doc, "sitename", None) or getattr(doc, "hostname", None) or source
    return Article(title=title, paragraphs=paragraphs, url=url, date=date, source=site, origin=source)

"""Paragraph chunking: articles into passages with stable ids, paragraph numbers and offsets."""
from __future__ import annotations

import hashlib
import re

from .language import detect_language, language_code
from .models import Article, Passage
from .normalizer import normalize
from .text import split_sentences

_BOILERPLATE = re.compile(
    r"^(انتهای پیام|انتهای\s*خبر|پایان پیام|/?\s*\d*\s*$|share( this)?|advertisement|read more"
    r"|related( articles| stories)?|all rights reserved|copyright|©.*|کپی ?رایت.*|تبلیغات"
    r"|ادامه مطلب|بیشتر بخوانید|اشتراک ?گذاری)[.:!\s]*$",
    re.IGNORECASE,
)


def is_boilerplate(text: str) -> bool:
    """True for fragments with no content worth citing (empty, 'انتهای پیام', 'Share this', …)."""
    norm = normalize(text)
    if len(norm) < 3 or not any(ch.isalpha() for ch in norm):
        return True
    return bool(_BOILERPLATE.match(norm))


def _pack(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Group sentence spans of a long paragraph into pieces of at most ~max_chars."""
    pieces: list[tuple[int, int]] = []
    for s, e in split_sentences(text):
        # A single sentence longer than the limit is cut at the last space before it.
        while e - s > max_chars:
            cut = text.rfind(" ", s, s + max_chars)
            cut = cut if cut > s + max_chars // 2 else s + max_chars
            pieces.append((s, cut))
            s = cut
            while s < e and text[s].isspace():
                s += 1
        if pieces and e - pieces[-1][0] <= max_chars:
            pieces[-1] = (pieces[-1][0], e)
        elif e > s:
            pieces.append((s, e))
    return pieces


def article_key(article_id: str) -> str:
    """Short stable key of an article id, used as the prefix of its passage ids."""
    return hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:16]


MIN_WORDS = 15  # shorter paragraphs (list items, one-line headlines) join the ones after them


def _groups(paragraphs: list[tuple[int, str]], max_chars: int) -> list[tuple[int, str]]:
    """Join runs of short paragraphs (a list of headlines) into one passage numbered by its first.

    A one-line paragraph embeds close to every question ("hubness") and says little alone, so
    short paragraphs are merged forward until the passage has MIN_WORDS words or would grow past
    half of max_chars; each line keeps its own line in the quoted text.
    """
    out: list[tuple[int, str]] = []
    cur_no, cur = 0, ""
    for no, text in paragraphs:
        if cur and (len(cur.split()) >= MIN_WORDS or len(cur) + len(text) + 1 > max_chars // 2):
            out.append((cur_no, cur))
            cur = ""
        if not cur:
            cur_no, cur = no, text
        else:
            cur = f"{cur}\n{text}"
    if cur:
        out.append((cur_no, cur))
    return out


def split_paragraphs(article: Article, max_chars: int = 900) -> list[Passage]:
    """Cut an article into passages: one per paragraph, long paragraphs split on sentences,
    runs of very short paragraphs joined."""
    aid = article.article_id
    key = article_key(aid)
    # the language of the text itself: boilerplate ("انتهای پیام" under an English article) does not vote
    body = [p for p in article.paragraphs if p.strip() and not is_boilerplate(p.strip())]
    lang = language_code(article.lang) or detect_language(" ".join(body[:3]) or article.title)
    passages: list[Passage] = []
    numbered: list[tuple[int, str]] = []
    number = 0
    for raw in article.paragraphs:
        para = raw.strip()
        if not para:
            continue
        number += 1  # numbered as the reader sees them: every non-empty paragraph counts
        if not is_boilerplate(para):
            numbered.append((number, para))
    for number, para in _groups(numbered, max_chars):
        spans = [(0, len(para))] if len(para) <= max_chars else _pack(para, max_chars)
        for part, (s, e) in enumerate(spans):
            passages.append(Passage(
                id=f"{key}-{number}-{part}", article_id=aid, text=para[s:e], paragraph=number,
                part=part, start=s, end=e, title=article.title, date=article.date,
                url=article.url, source=article.source, lang=lang,
            ))
    return passages

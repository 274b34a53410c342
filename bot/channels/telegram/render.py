"""Answers and sources as Telegram HTML messages, split to Telegram's 4,096-character limit."""
from __future__ import annotations

import html
import re

from bot.core.citations import MARKER
from bot.core.dates import format_date
from bot.core.schema import Answer, Citation
from index.text import persian_digits, persian_digits_in_persian, sentence_pieces

from .texts import TEXT

MAX_MESSAGE = 4096
LEADING_MARKERS = re.compile(rf"^(?:\s*{MARKER.pattern})+\s*")  # "[6] ", "[1][2] ", " [۳، ۴] "


def _sentences(text: str) -> list[str]:
    """The sentences of `text`, each with the citation markers written after its full stop: a sentence
    splitter starts the next sentence at "[6]" in "… in Gilan. [6] The …", but [6] cites Gilan."""
    out: list[str] = []
    for sent in sentence_pieces(text):
        lead = LEADING_MARKERS.match(sent)
        if lead and out:
            out[-1] += sent[:lead.end()]
            sent = sent[lead.end():]
        if sent:
            out.append(sent)
    return out


def _cut(sent: str, limit: int) -> int:
    """Where to cut a sentence too long for one message: the last space that keeps the first part within
    `limit` once escaped and does not leave a citation marker opening the rest; else the last fitting
    character."""
    size, fits = 0, 0
    for i, ch in enumerate(sent):
        size += len(html.escape(ch))
        if size > limit:
            break
        fits = i + 1
    for i in range(fits, 0, -1):
        if sent[i - 1].isspace() and sent[:i].strip() and not LEADING_MARKERS.match(sent[i:]):
            return i
    return max(fits, 1)


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split plain text into pieces whose HTML-escaped form fits `limit`, on sentence boundaries
    (then on spaces), so no piece ever cuts an entity like &amp; or a tag, and a sentence's citation
    markers stay in its piece."""
    if len(html.escape(text)) <= limit:
        return [text]
    pieces, cur = [], ""
    for sent in _sentences(text):
        if len(html.escape(cur + sent)) <= limit:
            cur += sent
            continue
        if cur:
            pieces.append(cur)
        cur = ""
        while len(html.escape(sent)) > limit:  # one sentence too long: cut at a space
            cut = _cut(sent, limit)
            pieces.append(sent[:cut])
            sent = sent[cut:].lstrip()
        cur = sent
    if cur.strip():
        pieces.append(cur)
    return [p.strip() for p in pieces if p.strip()]


def render_answer_html(ans: Answer) -> str:
    """The answer as escaped plain text (Telegram HTML parse mode); Persian digits for Persian."""
    text = ans.answer
    if ans.note:
        text = f"{text}\n\n{ans.note}"
    if ans.language == "fa":
        text = persian_digits_in_persian(text)
    return text


def render_citation_html(c: Citation, lang: str) -> str:
    """One source: bold title, date and paragraph, the quoted paragraph, a link — all escaped."""
    t = TEXT[lang]
    meta = " · ".join(x for x in [format_date(c.date, lang), f"{t['para']} {c.paragraph}"] if x)
    if lang == "fa":
        meta = persian_digits(meta)
    parts = [f"<b>[{persian_digits(str(c.n)) if lang == 'fa' else c.n}] {html.escape(c.title)}</b>",
             html.escape(meta), f"<blockquote>{html.escape(c.text)}</blockquote>"]
    if c.url and c.url.startswith(("http://", "https://")):
        parts.append(f'<a href="{html.escape(c.url, quote=True)}">{t["link"]}</a>')
    elif c.source:
        parts.append(html.escape(c.source))
    out = "\n".join(parts)
    if len(out) > MAX_MESSAGE:  # a very long paragraph: shorten the quote, never the markup
        room = MAX_MESSAGE - (len(out) - len(html.escape(c.text))) - 10
        out = out.replace(html.escape(c.text), html.escape(c.text[: max(room // 2, 100)]) + "…")
    return out

"""Answers and sources as Telegram HTML messages, split to Telegram's 4,096-character limit."""
from __future__ import annotations

import html

from bot.core.dates import format_date
from bot.core.schema import Answer, Citation
from index.text import persian_digits, sentence_pieces

from .texts import TEXT

MAX_MESSAGE = 4096


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split plain text into pieces whose HTML-escaped form fits `limit`, on sentence boundaries
    (then on spaces), so no piece ever cuts an entity like &amp; or a tag."""
    if len(html.escape(text)) <= limit:
        return [text]
    sentences = sentence_pieces(text)
    pieces, cur = [], ""
    for sent in sentences:
        if len(html.escape(cur + sent)) <= limit:
            cur += sent
            continue
        if cur:
            pieces.append(cur)
        cur = ""
        while len(html.escape(sent)) > limit:  # one sentence too long: cut at a space
            cut = limit // 2
            while len(html.escape(sent[:cut])) < limit and cut < len(sent):
                cut += 1
            cut = sent.rfind(" ", 0, cut - 1) if " " in sent[: cut - 1] else cut - 1
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
        text = persian_digits(text)
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

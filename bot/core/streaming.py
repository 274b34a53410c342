"""Streaming a model's reply one checked sentence at a time, never its raw text."""
from __future__ import annotations

from bot.core.citations import (
    SupportCheck,
    check_answer,
    flatten_markdown,
    keep_language,
    split_claims,
    strip_markers,
)


class SentenceGate:
    """Releases the sentences of a reply as they complete, each only if it passes the checks the final
    answer applies to it (support by a cited or attributed passage, no link or markup, the answer's
    language): the raw reply of a model that follows an instruction injected into an article is never
    on screen, not even until the checked answer replaces it."""

    def __init__(self, texts: list[str], support: SupportCheck, citable: set[int] | None, lang: str):
        self.texts = texts
        self.support = support
        self.citable = citable
        self.lang = lang
        self.seen = 0

    def feed(self, reply: str, final: bool = False) -> list[str]:
        """The sentences of `reply` (the text so far) completed since the last call — all of them when
        `final` — that pass the checks, without markers (the final answer numbers its citations)."""
        claims = split_claims(flatten_markdown(reply))
        ready = claims if final else claims[:-1]  # the last one may still be growing
        out = []
        for c in ready[self.seen:]:
            one, _ = keep_language(" ".join([c.text, *(f"[{n}]" for n in c.sources)]), self.lang)
            checked = check_answer(one, self.texts, self.support.supported, attribute=self.support.attribute,
                                   citable=self.citable, strength=self.support.strength)
            if checked.text:
                out.append(strip_markers(checked.text))
        self.seen = max(self.seen, len(ready))
        return out

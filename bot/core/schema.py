"""The plain dataclasses every channel renders: Answer, Citation, Context."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Citation:
    """A numbered source: the quoted paragraph and where it comes from."""

    n: int
    article_id: str
    title: str
    date: str | None
    url: str | None
    source: str
    paragraph: int
    text: str
    attributed: bool = False  # True when Khabar, not the model, tied the sentence(s) to this source


@dataclass
class Context(Citation):
    """A retrieved passage with its score; `n` is its citation number, None when not cited."""

    n: int | None  # type: ignore[assignment]  # a context is numbered only once it is cited
    score: float = 0.0


@dataclass
class Answer:
    """What `answer()` returns; `to_json()` gives exactly the public JSON keys."""

    question: str
    language: str
    answer: str
    citations: list[Citation] = field(default_factory=list)
    contexts: list[Context] = field(default_factory=list)
    mode: str = "extractive"
    timings_ms: dict[str, float] = field(default_factory=dict)
    refused: bool = False
    note: str = ""  # e.g. "the language model was unreachable; extractive answer"
    dropped_sentences: int = 0
    standalone_question: str = ""

    def to_json(self) -> dict:
        """The public JSON form (CLI --json, web API, the SSE answer event): question, language, answer,
        citations, contexts, mode, timings_ms, refused, standalone_question (the question as
        searched: a follow-up rewritten with its conversation's history) and note (why an LLM answer was
        quoted from the sources instead, or null)."""
        return {
            "question": self.question,
            "language": self.language,
            "answer": self.answer,
            "citations": [asdict(c) for c in self.citations],
            "contexts": [{k: v for k, v in asdict(c).items() if k not in ("n", "attributed")}
                         for c in self.contexts],
            "mode": self.mode,
            "timings_ms": self.timings_ms,
            "refused": self.refused,
            "standalone_question": self.standalone_question or self.question,
            "note": self.note or None,
        }

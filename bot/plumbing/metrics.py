"""Prometheus metrics for one app instance (own registry, so tests and workers do not collide)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    """Questions, answers by mode, refusals, errors, latency and index size."""

    def __init__(self, stats: Callable[[], dict[str, Any]] | None = None):
        self.registry = CollectorRegistry()
        r = self.registry
        self.questions = Counter("khabar_questions_total", "Questions received", ["lang"], registry=r)
        self.answers = Counter("khabar_answers_total", "Answers given", ["mode"], registry=r)
        self.refusals = Counter("khabar_refusals_total", "Questions answered with a refusal", registry=r)
        self.errors = Counter("khabar_errors_total", "Questions that ended in an error", ["code"], registry=r)
        self.latency = Histogram("khabar_answer_seconds", "Time to answer", ["mode"], registry=r,
                                 buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.passages = Gauge("khabar_index_passages", "Passages in the index", registry=r)
        self.articles = Gauge("khabar_index_articles", "Articles in the index", registry=r)
        self.stats = stats  # the index size, read when the metrics are scraped

    def answered(self, language: str, mode: str, refused: bool, seconds: float) -> None:
        """Count one answer."""
        self.questions.labels(language).inc()
        self.answers.labels(mode).inc()
        if refused:
            self.refusals.inc()
        self.latency.labels(mode).observe(seconds)

    def error(self, code: str) -> None:
        """Count one error."""
        self.errors.labels(code).inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        if self.stats is not None:
            stats = self.stats()
            self.passages.set(stats["passages"])
            self.articles.set(stats["articles"])
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

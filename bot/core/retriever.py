"""The hybrid search as a LangChain `BaseRetriever`, for Khabar's chain and for anyone's own chain."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from bot.core.options import Hit, SearchOptions, SearchResult
from bot.core.retrieval import HybridSearcher, elapsed_ms
from index.snapshot import Snapshot


class HybridRetriever(BaseRetriever):
    """The hybrid search as a LangChain retriever: Documents carry the citation metadata plus the
    search signals (`score`, `dense`, `pos`, `top_dense`, `top_dense_long`, `article_lead`,
    `signal_positions`, `query_terms`), so a chain built on it can judge relevance and fall back to
    quoting without searching again (see `result_from_documents`). For English questions `dense` is the
    similarity to the centered question vector (`SearchOptions.english_centering`), on another scale
    than `top_dense`, which is the plain vector's."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    searcher: HybridSearcher
    options: SearchOptions = Field(default_factory=SearchOptions)
    # other renderings of a query to search too (e.g. an LLM's Persian search terms); None = none
    expand: Callable[[str], list[str]] | None = None

    def search(self, query: str) -> SearchResult:
        """The plain search result for `query` under this retriever's options."""
        t = time.perf_counter()
        alts = [a for a in (self.expand(query) if self.expand else []) if a and a != query]
        expand_ms = elapsed_ms(t)
        opts = replace(self.options, alt_queries=[*self.options.alt_queries, *alts]) if alts else self.options
        result = self.searcher.search(query, opts)
        if self.expand:
            result.timings_ms["expand"] = expand_ms
        return result

    def to_documents(self, result: SearchResult) -> list[Document]:
        """One Document per hit, best first."""
        snap = result.snap
        # the snapshot travels with the Documents (in-process only): hit positions refer to it
        shared = {"top_dense": result.top_dense, "top_dense_long": result.top_dense_long,
                  "top_dense_lifted": result.top_dense_lifted,
                  "article_lead": result.article_lead,
                  "signal_positions": [h.pos for h in result.signal_hits] if result.signal_hits is not None else None,
                  "counterparts": result.counterparts, "query_terms": result.query_terms,
                  "timings_ms": result.timings_ms, "snapshot": snap,
                  # refusal's signals and decision, made once per result (the same dicts, in-process)
                  "signals": result.signals, "relevant": result.relevant, "followup": result.followup}
        return [Document(page_content=snap.text(h.pos),
                         metadata={**snap.meta(h.pos), "id": snap.id(h.pos), "pos": h.pos, "score": h.score,
                                   "dense": h.dense, "lexical": h.lexical, **shared})
                for h in result.hits]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun
                                ) -> list[Document]:
        return self.to_documents(self.search(query))


def result_from_documents(docs: list[Document]) -> SearchResult:
    """The SearchResult a HybridRetriever's Documents came from (hits, signals, timings)."""
    if not docs:
        return SearchResult([])
    m = docs[0].metadata
    hits = [Hit(d.metadata["pos"], d.metadata["score"], dense=d.metadata.get("dense", 0.0),
                lexical=d.metadata.get("lexical", 0.0)) for d in docs]
    return SearchResult(hits, dict(m.get("query_terms") or {}), float(m.get("top_dense", 0.0)),
                        timings_ms=dict(m.get("timings_ms") or {}), snap=m.get("snapshot") or Snapshot.empty(""),
                        top_dense_long=float(m.get("top_dense_long", 0.0)),
                        top_dense_lifted=m.get("top_dense_lifted"),
                        counterparts=dict(m.get("counterparts") or {}), article_lead=m.get("article_lead"),
                        signal_hits=[Hit(p, 0.0) for p in signal] if (signal := m.get("signal_positions")) is not None
                        else None,
                        signals=m["signals"] if isinstance(m.get("signals"), dict) else {},
                        relevant=m["relevant"] if isinstance(m.get("relevant"), dict) else {},
                        followup=bool(m.get("followup", False)))

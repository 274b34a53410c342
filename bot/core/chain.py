"""The LLM answer chain (LangChain LCEL): HybridRetriever → prompt → model → parser → checks."""
from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableBranch, RunnableLambda, RunnablePassthrough

from bot.core.checks import SentenceGate, check_text, support_for
from bot.core.citations import (
    strip_markers,
)
from bot.core.extractive import REFUSAL
from bot.core.options import SearchResult
from bot.core.relevance import english_top
from bot.core.retriever import result_from_documents
from bot.core.schema import Answer, Citation, Context
from bot.settings import Settings
from index.embeddings import VectorEmbeddings
from index.language import detect_language
from index.normalizer import tokenize
from index.text import persian_share, split_sentences
from prompts import load_prompt

log = logging.getLogger(__name__)

FALLBACK_NOTE = {
    "en": "The language model could not be reached, so this answer quotes the sources directly.",
    "fa": "مدل زبانی در دسترس نبود؛ این پاسخ مستقیماً از منابع نقل شده است.",
}
UNVERIFIED_NOTE = {
    "en": "The language model's answer could not be verified against the sources, so this answer quotes them directly.",
    "fa": "پاسخ مدل زبانی با منابع تطبیق نداشت؛ این پاسخ مستقیماً از منابع نقل شده است.",
}
LANGUAGE_NOTE = {
    "en": "The language model did not answer in English, so this answer quotes the sources directly.",
    "fa": "مدل زبانی به فارسی پاسخ نداد؛ این پاسخ مستقیماً از منابع نقل شده است.",
}
NO_ANSWER_NOTE = {
    "en": "The language model found no answer in these passages; these are their closest sentences.",
    "fa": "مدل زبانی در این بندها پاسخی نیافت؛ نزدیک‌ترین جمله‌های آن‌ها در زیر آمده است.",
}
# Small models echo the prompt's layout after answering; the server stops there (OpenAI allows 4).
STOP = {"en": ["\nQuestion:", "\nSources:", "\n\n\n", "<|im_end|>"],
        "fa": ["\nپرسش:", "\nمنابع:", "\n\n\n", "<|im_end|>"]}
SOURCE_CHARS = 320  # a passage longer than this is shown to the model as its best sentences
# Retrieval this sure of its top passage outvotes a model that says the passages hold no answer: a question
# and passage of one language, or an English question over Persian news (similarities across languages run
# lower). A Persian question reads its plain similarity (the scale this was set on) whatever the passage's language.
CONFIDENT_DENSE = {"same": 0.85, "en_over_fa": 0.80}


def confident(result: SearchResult, lang: str, same_language_rule: bool = True) -> bool:
    """Whether retrieval is sure enough of its top passage to outvote the model's "no answer";
    `same_language_rule`: whether refusal decided an English question over English news on its own scale (the
    default embedder; QA._decide), else the English bar stands whatever the passage's language."""
    if lang == "en":
        same = same_language_rule and english_top(result)
        return result.top_dense >= CONFIDENT_DENSE["same" if same else "en_over_fa"]
    return result.top_dense >= CONFIDENT_DENSE["same"]


class Answering(Protocol):
    """What the chain needs from the answer service (`QA` is one): relevance, contexts and quotes."""

    embedder: VectorEmbeddings

    def is_relevant(self, result: SearchResult, question: str) -> bool:
        """Whether the retrieved passages are about the question at all."""

    def contexts(self, result: SearchResult) -> list[Context]:
        """The retrieved passages as numbered sources."""

    def extractive(self, question: str, lang: str, result: SearchResult, standalone: str, *,
                   focus: bool = False) -> Answer:
        """The offline answer: quoted sentences with their citations (`focus`: of one passage)."""


def build_chat_model(settings: Settings, timeout: float | None = None) -> BaseChatModel:
    """The chat model named by KHABAR_LLM: any OpenAI-compatible server, or Ollama."""
    timeout = settings.llm_timeout if timeout is None else timeout
    if settings.llm == "openai":
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        # max_completion_tokens is the constructor's name for the `max_tokens` request field
        return ChatOpenAI(model=settings.llm_model, base_url=settings.llm_base_url,
                          api_key=SecretStr(settings.llm_api_key or "not-needed"),
                          temperature=settings.llm_temperature, timeout=timeout, max_retries=0,
                          max_completion_tokens=settings.llm_max_tokens)
    if settings.llm == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(model=settings.llm_model, base_url=settings.llm_base_url or "http://127.0.0.1:11434",
                          temperature=settings.llm_temperature, num_predict=settings.llm_max_tokens,
                          client_kwargs={"timeout": timeout})
    raise ValueError(f"no chat model for KHABAR_LLM={settings.llm}")


def build_chain(settings: Settings, model: BaseChatModel | None = None) -> AnswerChain:
    """The answer chain for the configured backend (or a given model, e.g. a fake one in tests)."""
    if model is not None:
        return AnswerChain(model, settings)
    fast = build_chat_model(settings, timeout=min(settings.llm_timeout, settings.llm_translate_timeout))
    return AnswerChain(build_chat_model(settings), settings, translator=fast)


# ---- prompt inputs ----------------------------------------------------------------------------------
def best_sentences(text: str, weights: dict[str, float], limit: int = SOURCE_CHARS) -> str:
    """`text` itself when short, else its sentences that best match the query terms (in their
    order, joined by "…"): a small model reads less and copies less noise."""
    if len(text) <= limit:
        return text
    spans = [text[s:e] for s, e in split_sentences(text)]
    scored = []
    for i, sent in enumerate(spans):
        toks = set(tokenize(sent))
        scored.append((sum(w for t, w in weights.items() if t in toks) / math.log(3 + len(toks)), -i, i))
    keep: set[int] = set()
    size = 0
    for _, _, i in sorted(scored, reverse=True):
        if keep and size + len(spans[i]) > limit:
            continue
        keep.add(i)
        size += len(spans[i])
    out, last = [], -1
    for i in sorted(keep):
        out.append(("… " if i > last + 1 else "") + spans[i])
        last = i
    return " ".join(out) + (" …" if last < len(spans) - 1 else "")


def format_sources(docs: list[Document]) -> str:
    """The numbered sources block: "[n] title (date)" then the passage's best sentences."""
    weights = docs[0].metadata.get("query_terms") or {} if docs else {}
    blocks = []
    for i, d in enumerate(docs, 1):
        m = d.metadata
        head = f"[{i}] {m.get('title') or ''}".rstrip() + (f" ({m['date']})" if m.get("date") else "")
        blocks.append(f"{head}\n{best_sentences(d.page_content, weights)}")
    return "\n\n".join(blocks)


def _history_messages(history: list[tuple[str, str]] | None, turns: int) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for q, a in (history or [])[-turns:]:
        out += [HumanMessage(q), AIMessage(a)]
    return out


def answer_prompt(lang: str) -> ChatPromptTemplate:
    """System rules, a one-shot example, the conversation, then sources + question (prompts/*_<lang>.txt)."""
    example_q, example_a = load_prompt("example", lang).split("\n---\n", 1)
    return ChatPromptTemplate.from_messages([
        ("system", load_prompt("answer", lang)),
        HumanMessage(example_q.strip()), AIMessage(example_a.strip()),
        MessagesPlaceholder("history"),
        ("human", load_prompt("question", lang))])


def build_retrieval_chain(retriever: BaseRetriever, model: BaseChatModel, embedder: VectorEmbeddings, lang: str = "en",
                          relevant: Callable[[dict], bool] | None = None, history_turns: int = 6) -> Runnable:
    """A LangChain retrieval chain: {"question", "history"?, "query"?} → {"docs", "sources", "raw", "checked"}.

    retriever (any BaseRetriever; Khabar's HybridRetriever) → prompt → model → parser → checks.
    `relevant(state)` may veto the model call (no relevant passages: "raw" stays empty). Reusable
    outside Khabar with any chat model and retriever."""
    return generation_chain(retriever, model, lang, relevant, history_turns) | RunnablePassthrough.assign(
        checked=RunnableLambda(lambda x: check_text(x["raw"], x["docs"], embedder, x["question"], lang)))


def generation_chain(retriever: BaseRetriever, model: BaseChatModel, lang: str,
                     relevant: Callable[[dict], bool] | None = None, history_turns: int = 6) -> Runnable:
    """The streaming part of the retrieval chain (everything but the checks)."""
    relevant = relevant or (lambda x: bool(x["docs"]))
    generate = answer_prompt(lang) | model.bind(stop=STOP[lang]) | StrOutputParser()
    return (
        RunnablePassthrough.assign(
            docs=RunnableLambda(lambda x: x.get("query") or x["question"]) | retriever,
            history=RunnableLambda(lambda x: _history_messages(x.get("history"), history_turns)))
        | RunnablePassthrough.assign(relevant=RunnableLambda(relevant))
        | RunnablePassthrough.assign(sources=RunnableLambda(lambda x: format_sources(x["docs"])))
        | RunnablePassthrough.assign(raw=RunnableBranch((lambda x: not x["relevant"], RunnableLambda(lambda x: "")),
                                                        generate)))


class AnswerChain:
    """Generates grounded answers and checks them; quotes the sources when the model's answer fails."""

    def __init__(self, model: BaseChatModel, settings: Settings, translator: BaseChatModel | None = None):
        self.model = model
        self.settings = settings
        self.retry_text = {lang: load_prompt("retry", lang) for lang in ("fa", "en")}
        self.rewrite_chains = {
            lang: ChatPromptTemplate.from_template(load_prompt("rewrite", lang)) | model | StrOutputParser()
            for lang in ("fa", "en")}
        self._examples = {m.strip() for m in re.findall(r"^Persian:(.+)$", load_prompt("translate", "en"), flags=re.M)}
        self.translate_chain = (ChatPromptTemplate.from_template(load_prompt("translate", "en"))
                                | (translator or model).bind(stop=["\n"]) | StrOutputParser())

    # ---- before retrieval -----------------------------------------------------------------------
    def rewrite(self, question: str, history: list[tuple[str, str]], lang: str) -> str:
        """A standalone version of a follow-up question (the question itself if the model fails)."""
        convo = "\n".join(f"Q: {q}\nA: {a[:400]}" for q, a in history[-3:])
        try:
            out = self.rewrite_chains[lang].invoke({"history": convo, "question": question}).strip()
        except Exception:  # noqa: BLE001 - any model failure: keep the question as asked
            log.warning("follow-up rewrite failed", exc_info=True)
            return question
        out = out.splitlines()[0].strip() if out else ""
        return out if 3 <= len(out) <= 2 * len(question) + 300 else question

    def search_terms(self, question: str) -> list[str]:
        """Extra renderings to search with: an English question's Persian search query (names in
        Persian spelling), since most articles are Persian; [] for Persian questions or on failure."""
        if self.settings.llm_translate_timeout <= 0 or detect_language(question) != "en":
            return []
        try:
            out = self.translate_chain.invoke({"question": question})
        except Exception:  # noqa: BLE001 - slow or failed: search the question as asked
            log.warning("question translation failed", exc_info=True)
            return []
        log.debug("model rendering: %r", out)
        line = next((s for s in (out or "").splitlines() if s.strip()), "")
        line = re.sub(r"^\s*(persian|فارسی)\s*[:：]\s*", "", line, flags=re.I).strip(" \"'«»“”")
        return [line] if self.accept_rendering(line) else []

    def accept_rendering(self, line: str) -> bool:
        """A usable Persian search query: mostly Persian letters, not too long, and not one of the
        prompt's examples echoed back (small models do that)."""
        if persian_share(line) < 0.7 or len(line) > 300 or line in self._examples:
            log.info("rendering ignored: %r", line[:80])
            return False
        return True

    # ---- answers --------------------------------------------------------------------------------
    def stream(self, qa: Answering, question: str, standalone: str, lang: str, retriever: BaseRetriever,
               history: list[tuple[str, str]] | None, t0: float) -> Iterator[str | Answer]:
        """Run the retrieval chain, yielding model text as it arrives, then the checked Answer (or a
        cited extractive answer with a note when the model fails; a refusal only when nothing relevant
        was found, or the model says the passages do not answer and retrieval is not sure they do)."""
        def relevant(state: dict) -> bool:
            return qa.is_relevant(result_from_documents(state["docs"]), standalone)

        chain = generation_chain(retriever, self.model, lang, relevant, self.settings.history_turns)
        inputs = {"question": question, "query": standalone, "history": history or []}
        state: dict[str, Any] = {}
        parts: list[str] = []
        t = time.perf_counter()
        gate: SentenceGate | None = None
        prepared = None
        try:
            for chunk in chain.stream(inputs):
                if "raw" not in chunk:
                    state.update(chunk)
                    continue
                parts.append(chunk["raw"])
                if gate is None and state.get("relevant") and state.get("docs"):
                    prepared = support_for(state["docs"], qa.embedder, f"{question} {standalone}")
                    gate = SentenceGate(*prepared, lang=lang)
                for sentence in gate.add(chunk["raw"]) if gate else []:
                    yield sentence + " "
            for sentence in gate.feed(final=True) if gate else []:
                yield sentence + " "
        except Exception:  # noqa: BLE001 - unreachable, timed out or failed: answer without the model
            if "relevant" not in state:
                raise  # retrieval itself failed: not a model problem
            log.warning("language model failed; answering extractively", exc_info=True)
            yield from self._fallback(qa, question, lang, state["docs"], standalone, FALLBACK_NOTE, t0)
            return
        docs = state["docs"]
        result = result_from_documents(docs)
        contexts = qa.contexts(result)
        if not state["relevant"]:
            ans = Answer(question=question, language=lang, answer=REFUSAL[lang], contexts=contexts, mode="llm",
                         timings_ms=dict(result.timings_ms), refused=True, standalone_question=standalone)
            yield ans.answer
            yield self._done(ans, t0)
            return
        text = "".join(parts)
        log.debug("model reply: %r", text)
        try:
            checked = check_text(text, docs, qa.embedder, f"{question} {standalone}", lang, prepared)
            if not self._language_ok(checked.text or text, lang):
                messages = answer_prompt(lang).invoke({**state, "question": question}).to_messages()
                retry = self.model.bind(stop=STOP[lang]) | StrOutputParser()
                text = retry.invoke(messages + [AIMessage(text), HumanMessage(self.retry_text[lang])])
                log.debug("model reply (language retry): %r", text)
                checked = check_text(text, docs, qa.embedder, f"{question} {standalone}", lang, prepared)
                if not self._language_ok(checked.text or text, lang):
                    yield from self._fallback(qa, question, lang, docs, standalone, LANGUAGE_NOTE, t0)
                    return
        except Exception:  # noqa: BLE001 - the retry failed
            log.warning("language model failed on retry; answering extractively", exc_info=True)
            yield from self._fallback(qa, question, lang, docs, standalone, FALLBACK_NOTE, t0)
            return
        llm_ms = round((time.perf_counter() - t) * 1000, 2)
        if not checked.text:
            if checked.no_answer and not confident(result, detect_language(standalone), qa.embedder.has_sparse):
                # the model and the passages agree: nothing here answers the question
                ans = Answer(question=question, language=lang, answer=REFUSAL[lang], contexts=contexts,
                             mode="llm", timings_ms={**result.timings_ms, "llm": llm_ms}, refused=True,
                             standalone_question=standalone)
                yield "\n" + ans.answer
                yield self._done(ans, t0)
                return
            note = NO_ANSWER_NOTE if checked.no_answer else UNVERIFIED_NOTE
            yield from self._fallback(qa, question, lang, docs, standalone, note, t0)
            return
        ans = Answer(question=question, language=lang, answer=checked.text, contexts=contexts, mode="llm",
                     timings_ms={**result.timings_ms, "llm": llm_ms}, dropped_sentences=checked.dropped,
                     standalone_question=standalone)
        for new, old in enumerate(checked.used, 1):
            c = contexts[old - 1]
            c.n = new
            ans.citations.append(Citation(n=new, article_id=c.article_id, title=c.title, date=c.date, url=c.url,
                                          source=c.source, paragraph=c.paragraph, text=c.text,
                                          attributed=old in checked.attributed))
        yield self._done(ans, t0)

    @staticmethod
    def _language_ok(text: str, lang: str) -> bool:
        plain = strip_markers(text)
        return not plain.strip() or detect_language(plain, default=lang) == lang

    def _fallback(self, qa: Answering, question: str, lang: str, docs: list[Document], standalone: str,
                  notes: dict[str, str], t0: float) -> Iterator[str | Answer]:
        """The quoted answer instead of the model's: the sentences of retrieval's first passage."""
        ans = qa.extractive(question, lang, result_from_documents(docs), standalone, focus=True)
        ans.note = notes[lang]
        yield "\n" + ans.answer
        yield self._done(ans, t0)

    @staticmethod
    def _done(ans: Answer, t0: float) -> Answer:
        ans.timings_ms["total"] = round((time.perf_counter() - t0) * 1000, 2)
        return ans

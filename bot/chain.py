"""The LLM answer chain (LangChain LCEL): retrieve → prompt → model → parse → check."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

from index.language import detect_language
from index.settings import Settings
from prompts import load_prompt

from .citations import CheckedAnswer, check_answer, lexical_support, strip_markers
from .extractive import REFUSAL
from .schema import Answer, Citation

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
# A sentence is supported when half its content words are in its sources, or, across languages
# (an English sentence citing a Persian paragraph), when its embedding is this close; same-language
# paraphrases need a higher bar (e5 puts unrelated same-language texts near 0.8).
LEXICAL_SUPPORT = 0.5
DENSE_SUPPORT_CROSS = 0.80
DENSE_SUPPORT_SAME = 0.88


def build_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model named by KHABAR_LLM: any OpenAI-compatible server, or Ollama."""
    if settings.llm == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(model=settings.llm_model, base_url=settings.llm_base_url,
                          api_key=settings.llm_api_key or "not-needed", temperature=settings.llm_temperature,
                          timeout=settings.llm_timeout, max_retries=0, max_tokens=settings.llm_max_tokens)
    if settings.llm == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(model=settings.llm_model, base_url=settings.llm_base_url or "http://127.0.0.1:11434",
                          temperature=settings.llm_temperature, num_predict=settings.llm_max_tokens,
                          client_kwargs={"timeout": settings.llm_timeout})
    raise ValueError(f"no chat model for KHABAR_LLM={settings.llm}")


def build_chain(settings: Settings, model: BaseChatModel | None = None) -> "AnswerChain":
    """The answer chain for the configured backend (or a given model, e.g. a fake one in tests)."""
    return AnswerChain(model or build_chat_model(settings), settings)


class AnswerChain:
    """Generates grounded answers and checks them; falls back to extractive answers on any failure."""

    def __init__(self, model: BaseChatModel, settings: Settings):
        self.model = model
        self.settings = settings
        self.answer_prompts = {
            lang: ChatPromptTemplate.from_messages([
                ("system", load_prompt("answer", lang)), MessagesPlaceholder("history"),
                ("human", "{question}")])
            for lang in ("fa", "en")}
        self.answer_chains = {lang: p | model | StrOutputParser() for lang, p in self.answer_prompts.items()}
        self.retry_text = {lang: load_prompt("retry", lang) for lang in ("fa", "en")}
        self.rewrite_chains = {
            lang: ChatPromptTemplate.from_template(load_prompt("rewrite", lang)) | model | StrOutputParser()
            for lang in ("fa", "en")}

    # ---- follow-ups -----------------------------------------------------------------------------
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

    # ---- answers --------------------------------------------------------------------------------
    def stream(self, qa, question: str, standalone: str, lang: str, result, history, t0: float
               ) -> Iterator[str | Answer]:
        """Yield model text as it arrives, then the checked Answer (or an extractive fallback)."""
        contexts = qa.contexts(result)
        if not qa.is_relevant(result, standalone):
            ans = Answer(question=question, language=lang, answer=REFUSAL[lang], contexts=contexts, mode="llm",
                         timings_ms=dict(result.timings_ms), refused=True, standalone_question=standalone)
            yield ans.answer
            yield self._done(ans, t0)
            return
        sources = "\n\n".join(
            f"[{i + 1}] {c.title}" + (f" ({c.date})" if c.date else "") + f"\n{c.text}"
            for i, c in enumerate(contexts))
        messages = []
        for q, a in (history or [])[-self.settings.history_turns:]:
            messages += [HumanMessage(q), AIMessage(a)]
        inputs = {"sources": sources, "history": messages, "question": question}
        t = time.perf_counter()
        try:
            parts = []
            for chunk in self.answer_chains[lang].stream(inputs):
                parts.append(chunk)
                yield chunk
            text = "".join(parts)
            checked = self._check(text, contexts, qa)
            if not self._language_ok(checked.text or text, lang):
                retry = self.answer_prompts[lang] | self.model | StrOutputParser()
                inputs_retry = dict(inputs, history=messages + [HumanMessage(question), AIMessage(text)],
                                    question=self.retry_text[lang])
                text = retry.invoke(inputs_retry)
                checked = self._check(text, contexts, qa)
                if not self._language_ok(checked.text or text, lang):
                    yield from self._fallback(qa, question, lang, result, standalone, LANGUAGE_NOTE, t0)
                    return
        except Exception:  # noqa: BLE001 - unreachable, timed out or failed: answer without the model
            log.warning("language model failed; answering extractively", exc_info=True)
            yield from self._fallback(qa, question, lang, result, standalone, FALLBACK_NOTE, t0)
            return
        llm_ms = round((time.perf_counter() - t) * 1000, 2)
        if not checked.text:
            if checked.cited:  # it cited sources, but nothing it said is in them
                yield from self._fallback(qa, question, lang, result, standalone, UNVERIFIED_NOTE, t0)
                return
            # no citation at all: the model found no answer (or obeyed text it should not have);
            # uncited words are never shown as an answer
            ans = Answer(question=question, language=lang, answer=REFUSAL[lang], contexts=contexts, mode="llm",
                         timings_ms={**result.timings_ms, "llm": llm_ms}, refused=True,
                         standalone_question=standalone)
            yield self._done(ans, t0)
            return
        ans = Answer(question=question, language=lang, answer=checked.text, contexts=contexts, mode="llm",
                     timings_ms={**result.timings_ms, "llm": llm_ms}, dropped_sentences=checked.dropped,
                     standalone_question=standalone)
        for new, old in enumerate(checked.used, 1):
            c = contexts[old - 1]
            c.n = new
            ans.citations.append(Citation(n=new, article_id=c.article_id, title=c.title, date=c.date, url=c.url,
                                          source=c.source, paragraph=c.paragraph, text=c.text))
        yield self._done(ans, t0)

    def _check(self, text: str, contexts, qa) -> CheckedAnswer:
        """Drop dangling markers and unsupported sentences; renumber by first use."""
        texts = [c.text for c in contexts]

        def supported(sentence: str, passages: list[str]) -> bool:
            joined = " ".join(passages)
            if lexical_support(sentence, joined) >= LEXICAL_SUPPORT:
                return True
            emb = qa.embedder
            vec = emb.encode_query(sentence)
            sims = emb.encode_passages(passages) @ vec
            lang = detect_language(sentence)
            return any(sim >= (DENSE_SUPPORT_SAME if detect_language(p) == lang else DENSE_SUPPORT_CROSS)
                       for sim, p in zip(sims, passages))

        return check_answer(text, texts, supported)

    @staticmethod
    def _language_ok(text: str, lang: str) -> bool:
        plain = strip_markers(text)
        return not plain.strip() or detect_language(plain, default=lang) == lang

    def _fallback(self, qa, question, lang, result, standalone, notes, t0) -> Iterator[str | Answer]:
        ans = qa.extractive(question, lang, result, standalone)
        ans.note = notes[lang]
        yield "\n" + ans.answer
        yield self._done(ans, t0)

    @staticmethod
    def _done(ans: Answer, t0: float) -> Answer:
        ans.timings_ms["total"] = round((time.perf_counter() - t0) * 1000, 2)
        return ans

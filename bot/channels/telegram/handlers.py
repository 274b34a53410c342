"""The Telegram bot's handlers: commands, questions (streamed by editing one message), source buttons."""
from __future__ import annotations

import asyncio
import html
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from telegram import CallbackQuery, Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, NetworkError
from telegram.ext import ContextTypes

from bot.core.dates import format_date
from bot.core.qa import QA
from bot.core.schema import Answer, Citation
from bot.errors import reader_message
from bot.plumbing.state import State, build_state
from bot.settings import Settings
from index.errors import KhabarError
from index.language import detect_language
from index.text import persian_digits

from .addressing import addressed, bot_mentions, command_for_bot, conversation_key, in_group, without_entities
from .render import MAX_MESSAGE, render_answer_html, render_citation_html, split_message
from .texts import TEXT

log = logging.getLogger(__name__)

EDIT_EVERY_SECONDS = 1.5  # Telegram allows about one edit per second per chat
NETWORK_RETRIES = 3


def _message(update: Update) -> Message:
    """The update's message (the handlers below are registered only for updates that carry one)."""
    if update.effective_message is None:
        raise ValueError("update without a message")
    return update.effective_message


def _chat(update: Update) -> Chat:
    """The update's chat (the same guarantee as `_message`)."""
    if update.effective_chat is None:
        raise ValueError("update without a chat")
    return update.effective_chat


class KhabarBot:
    """Handlers of the Telegram channel; chat state (history — per chat, per member in groups —, language,
    the sources behind citation buttons) lives in `state`, so it survives a restart and is shared when that
    is Redis."""

    def __init__(self, settings: Settings, qa: QA, state: State | None = None):
        self.settings = settings
        self.qa = qa
        self.state = state or build_state(settings)
        self.conversations = self.state.conversations("telegram")
        self.limiter = self.state.limiter("telegram", settings.telegram_rate_per_minute)
        self.allow = settings.telegram_allow_set()
        self.buttons = self.state.values("tg-sources", settings.telegram_sources_ttl_seconds, 2000)
        self.langs = self.state.values("tg-lang", settings.telegram_lang_ttl_seconds, 100_000)

    # ---- helpers ------------------------------------------------------------------------------
    def ui_lang(self, update: Update) -> str:
        """The chat's chosen language, else the user's Telegram language, else English."""
        chat = update.effective_chat
        chosen = self.langs.get(str(chat.id)) if chat else None
        if chosen in TEXT:
            return chosen
        user = update.effective_user
        code = (user.language_code or "") if user else ""
        return "fa" if code.startswith("fa") else "en"

    def allowed(self, update: Update) -> bool:
        """Whether the allowlist (if any) admits this user or chat."""
        if not self.allow:
            return True
        ids = {str(update.effective_user.id) if update.effective_user else "",
               str(_chat(update).id) if update.effective_chat else ""}
        return bool(ids & self.allow)

    async def send(self, call: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        """Call a Bot API method, backing off on network errors (1, 2, 4 s). Flood limits and
        RetryAfter are the application's AIORateLimiter's (app.py), which knows Telegram's limits."""
        delay = 1.0
        for _ in range(NETWORK_RETRIES):
            try:
                return await call(*args, **kwargs)
            except NetworkError as exc:
                if isinstance(exc, BadRequest):  # a 400 is an answer, not a network problem
                    raise
                log.warning("Telegram network error; retrying in %.0f s", delay, exc_info=True)
                await asyncio.sleep(delay)
                delay *= 2
        return await call(*args, **kwargs)

    def remember(self, ans: Answer) -> str:
        """Keep an answer's citations for its source buttons; returns their key."""
        # random, so workers and restarts never hand out the same key (fits callback_data's 64 bytes)
        key = secrets.token_hex(8)
        self.buttons.set(key, json.dumps({"language": ans.language,
                                          "citations": [asdict(c) for c in ans.citations]}, ensure_ascii=False))
        return key

    def recall(self, key: str, n: int) -> tuple[Citation, str]:
        """The citation `n` behind a button and the answer's language; KeyError when gone."""
        raw = self.buttons.get(key)
        if raw is None:
            raise KeyError(key)
        data = json.loads(raw)
        cite = next((c for c in data["citations"] if c.get("n") == n), None)
        if cite is None:
            raise KeyError(n)
        return Citation(**cite), data.get("language", "en")

    def keyboard(self, key: str, ans: Answer) -> InlineKeyboardMarkup | None:
        """One button per citation ([n], Persian digits for Persian), five to a row; None without citations."""
        if not ans.citations:
            return None
        digits = (lambda n: persian_digits(str(n))) if ans.language == "fa" else str
        buttons = [InlineKeyboardButton(f"[{digits(c.n)}]", callback_data=f"s:{key}:{c.n}") for c in ans.citations]
        return InlineKeyboardMarkup([buttons[i:i + 5] for i in range(0, len(buttons), 5)])

    # ---- commands -----------------------------------------------------------------------------
    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start and /help: what the bot does and its commands."""
        await self.send(_message(update).reply_text, TEXT[self.ui_lang(update)]["start"])

    async def set_lang(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/lang fa|en: the language of the bot's own messages in this chat."""
        arg = (context.args or [""])[0].lower()
        if arg not in ("fa", "en"):
            await self.send(_message(update).reply_text, TEXT[self.ui_lang(update)]["lang_usage"])
            return
        self.langs.set(str(_chat(update).id), arg)
        await self.send(_message(update).reply_text, TEXT[arg]["lang_set"])

    async def sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/sources: how many articles and paragraphs are indexed, their languages and dates."""
        lang = self.ui_lang(update)
        stats = await asyncio.to_thread(self.qa.stats)
        if not stats["articles"]:
            await self.send(_message(update).reply_text, TEXT[lang]["empty"])
            return
        since, until = stats["date_range"]
        msg = TEXT[lang]["sources"].format(
            articles=stats["articles"], passages=stats["passages"],
            langs=", ".join(f"{k}: {v}" for k, v in sorted(stats["languages"].items())),
            since=format_date(since, lang) or "—", until=format_date(until, lang) or "—")
        await self.send(_message(update).reply_text, persian_digits(msg) if lang == "fa" else msg)

    async def new(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/new: forget the caller's conversation (in a group, only their own)."""
        self.conversations.reset(conversation_key(update))
        await self.send(_message(update).reply_text, TEXT[self.ui_lang(update)]["new"])

    async def unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A /command the bot does not have: say so and list its commands (in groups only when it is ours)."""
        user = update.effective_user
        if (user and user.is_bot) or not command_for_bot(update, context.bot.username, context.bot.id):
            return
        await self.reply_if_admitted(update, "unknown_command")

    async def not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo, sticker, voice note…: say the bot answers text (in groups only when addressed)."""
        user = update.effective_user
        if (user and user.is_bot) or not addressed(update, context.bot.username, context.bot.id):
            return
        await self.reply_if_admitted(update, "text_only")

    async def reply_if_admitted(self, update: Update, text: str) -> None:
        """One of the bot's short replies, behind the allowlist and the rate limit like a question (a stream
        of stickers must not spend the bot's Telegram budget)."""
        lang = self.ui_lang(update)
        if not self.allowed(update):
            await self.send(_message(update).reply_text, TEXT[lang]["denied"])
            return
        who = str(update.effective_user.id if update.effective_user else _chat(update).id)
        if not await asyncio.to_thread(self.limiter.allow, who):
            return  # over the limit: silent (a "slow down" per sticker would spend the budget all the same)
        await self.send(_message(update).reply_text, TEXT[lang][text])

    # ---- questions ----------------------------------------------------------------------------
    def question_of(self, update: Update, bot_username: str, bot_id: int) -> str | None:
        """The question in a message, or None when the bot should stay silent (groups, bots)."""
        msg = update.effective_message
        user = update.effective_user
        if msg is None or not msg.text or (user and user.is_bot) or not addressed(update, bot_username, bot_id):
            return None
        text = msg.text
        if in_group(update):  # only the mention entities naming the bot are taken out, not "@bot_fan"
            text = without_entities(text, bot_mentions(msg, bot_username))
        return text.strip()

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A question: allowlist, rate limit, then the answer (with the conversation so far)."""
        question = self.question_of(update, context.bot.username, context.bot.id)
        if question is None:
            return
        lang = detect_language(question) if question.strip() else self.ui_lang(update)
        if not self.allowed(update):
            await self.send(_message(update).reply_text, TEXT[lang]["denied"])
            return
        who = str(update.effective_user.id if update.effective_user else _chat(update).id)
        if not await asyncio.to_thread(self.limiter.allow, who):  # may ask Redis: off the event loop
            await self.send(_message(update).reply_text, TEXT[lang]["rate"])
            return
        await self.send(context.bot.send_chat_action, chat_id=_chat(update).id, action=ChatAction.TYPING)
        cid = conversation_key(update)
        history = await asyncio.to_thread(self.conversations.history, cid)
        try:
            ans = await self.answer(update, context, question, history)
        except KhabarError as exc:
            await self.send(_message(update).reply_text, reader_message(exc, lang))
            return
        await asyncio.to_thread(self.conversations.add, cid, ans.standalone_question or ans.question, ans.answer)

    async def answer(self, update: Update, context: ContextTypes.DEFAULT_TYPE, question: str,
                     history: list[tuple[str, str]]) -> Answer:
        """Run the QA stream in a thread; with an LLM, edit one message as text arrives."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        def produce() -> None:
            try:
                for item in self.qa.stream_answer(question, history):
                    loop.call_soon_threadsafe(queue.put_nowait, item)
            except BaseException as exc:  # noqa: BLE001 - handed to the event loop below
                loop.call_soon_threadsafe(queue.put_nowait, exc)

        worker = loop.run_in_executor(None, produce)
        streamed, placeholder, last_edit = "", None, 0.0
        final: Answer | None = None
        streaming = self.qa.chain is not None
        while final is None:
            item = await queue.get()
            if isinstance(item, BaseException):
                await worker
                raise item
            if isinstance(item, Answer):
                final = item
                break
            streamed += item
            now = time.monotonic()
            if streaming and streamed.strip() and now - last_edit >= EDIT_EVERY_SECONDS \
                    and len(streamed) < MAX_MESSAGE - 100:
                text = html.escape(streamed)
                if placeholder is None:
                    placeholder = await self.send(_message(update).reply_text, text, parse_mode=ParseMode.HTML)
                else:
                    await self.send(placeholder.edit_text, text, parse_mode=ParseMode.HTML)
                last_edit = now
        await worker
        await self.deliver(update, final, placeholder)
        return final

    async def deliver(self, update: Update, ans: Answer, placeholder: Message | None) -> None:
        """Send (or finish editing) the answer, split to Telegram's limit, buttons on the last part."""
        pieces = split_message(render_answer_html(ans))
        key = self.remember(ans)
        markup = self.keyboard(key, ans)
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            kwargs = {"parse_mode": ParseMode.HTML, "reply_markup": markup if last else None,
                      "disable_web_page_preview": True}
            if i == 0 and placeholder is not None:
                await self.send(placeholder.edit_text, html.escape(piece), **kwargs)
            else:
                await self.send(_message(update).reply_text, html.escape(piece), **kwargs)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A citation button: reply with that source paragraph, or say it is gone."""
        query: CallbackQuery | None = update.callback_query
        if query is None:
            return
        lang = self.ui_lang(update)
        try:
            _, key, n = (query.data or "").split(":")
            cite, lang = self.recall(key, int(n))
        except (ValueError, KeyError, TypeError):
            await self.send(query.answer, TEXT[lang]["gone"])
            return
        await self.send(query.answer)
        if query.message is None:  # the message with the buttons is too old to reply to
            return
        await self.send(context.bot.send_message, chat_id=query.message.chat.id,
                        text=render_citation_html(cite, lang), parse_mode=ParseMode.HTML,
                        reply_to_message_id=query.message.message_id, disable_web_page_preview=True)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failure; the user gets a short apology in their language, never a traceback."""
        log.error("Telegram handler failed", exc_info=context.error)
        if isinstance(update, Update) and update.effective_message:
            lang = self.ui_lang(update)
            try:
                await _message(update).reply_text(TEXT[lang]["error"])
            except Exception:  # noqa: BLE001 - the error reply is best effort
                log.warning("could not send the error reply", exc_info=True)

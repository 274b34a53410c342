"""The Telegram bot (python-telegram-bot): renders the same Answer the web widget shows."""
from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import secrets
import time
from dataclasses import asdict

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.core.dates import format_date
from bot.core.qa import QA
from bot.core.schema import Answer, Citation
from bot.plumbing.state import State, build_state
from bot.settings import Settings
from index.errors import KhabarError
from index.language import detect_language
from index.text import persian_digits, sentence_pieces

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
MAX_MESSAGE = 4096
EDIT_EVERY_SECONDS = 1.5  # Telegram allows about one edit per second per chat

TEXT = {
    "fa": {
        "start": "سلام! من «خبر» هستم. پرسش خود را درباره خبرها به فارسی یا انگلیسی بنویسید؛ پاسخ را فقط از "
                 "خبرهای نمایه‌شده می‌دهم و بندهای منبع را نشان می‌دهم.\n\nفرمان‌ها:\n/sources — چه خبرهایی نمایه شده\n"
                 "/new — شروع گفت‌وگوی تازه\n/lang fa|en — زبان پیام‌های ربات\n/help — راهنما",
        "lang_set": "زبان روی فارسی تنظیم شد.", "lang_usage": "استفاده: /lang fa یا /lang en",
        "new": "گفت‌وگو از نو شروع شد.", "rate": "کمی آهسته‌تر لطفاً؛ چند لحظه دیگر دوباره بپرسید.",
        "denied": "اجازه استفاده از این ربات را ندارید.", "error": "متأسفم، مشکلی پیش آمد. لطفاً دوباره تلاش کنید.",
        "sources": "در نمایه: {articles} خبر، {passages} بند. زبان‌ها: {langs}. بازه تاریخ: {since} تا {until}.",
        "empty": "هنوز هیچ خبری نمایه نشده است.", "para": "بند", "link": "مشاهده خبر", "gone": "این منبع دیگر در دسترس نیست.",
    },
    "en": {
        "start": "Hello! I'm Khabar. Ask me about the news in English or Persian; I answer only from the indexed "
                 "articles and show the source paragraphs.\n\nCommands:\n/sources — what is indexed\n"
                 "/new — start a new conversation\n/lang fa|en — the bot's language\n/help — this help",
        "lang_set": "Language set to English.", "lang_usage": "Usage: /lang fa or /lang en",
        "new": "Started a new conversation.", "rate": "Please slow down a little; ask again in a moment.",
        "denied": "You are not allowed to use this bot.", "error": "Sorry, something went wrong. Please try again.",
        "sources": "Indexed: {articles} articles, {passages} paragraphs. Languages: {langs}. Dates: {since} to {until}.",
        "empty": "Nothing is indexed yet.", "para": "paragraph", "link": "Open the article",
        "gone": "This source is no longer available.",
    },
}


class TelegramConfigError(KhabarError):
    """A missing or malformed bot token."""

    exit_code = 2
    code = "telegram_config"
    fa = "توکن ربات تلگرام تنظیم نشده یا نادرست است؛ KHABAR_TELEGRAM_TOKEN را از BotFather بگیرید."
    en = "The Telegram bot token is missing or malformed: set KHABAR_TELEGRAM_TOKEN to the token BotFather gave you."


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


class KhabarBot:
    """Handlers of the Telegram channel; per-chat state (history, language, the sources behind
    citation buttons) lives in `state`, so it survives a restart and is shared when that is Redis."""

    def __init__(self, settings: Settings, qa: QA, state: State | None = None):
        self.settings = settings
        self.qa = qa
        self.state = state or build_state(settings)
        self.conversations = self.state.conversations("telegram")
        self.limiter = self.state.limiter("telegram", settings.telegram_rate_per_minute)
        self.allow = {x.strip() for x in settings.telegram_allowlist.split(",") if x.strip()}
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
               str(update.effective_chat.id) if update.effective_chat else ""}
        return bool(ids & self.allow)

    async def send(self, call, *args, **kwargs):
        """Call a Bot API method, waiting out RetryAfter and backing off on network errors."""
        delay = 1.0
        for attempt in range(4):
            try:
                return await call(*args, **kwargs)
            except RetryAfter as exc:
                wait = exc.retry_after.total_seconds() if hasattr(exc.retry_after, "total_seconds") \
                    else float(exc.retry_after)
                log.warning("Telegram asked to retry after %s s", wait)
                await asyncio.sleep(min(wait, 30))
            except (TimedOut, NetworkError):
                if attempt == 3:
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
        if not ans.citations:
            return None
        digits = (lambda n: persian_digits(str(n))) if ans.language == "fa" else str
        buttons = [InlineKeyboardButton(f"[{digits(c.n)}]", callback_data=f"s:{key}:{c.n}") for c in ans.citations]
        return InlineKeyboardMarkup([buttons[i:i + 5] for i in range(0, len(buttons), 5)])

    # ---- commands -----------------------------------------------------------------------------
    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.send(update.effective_message.reply_text, TEXT[self.ui_lang(update)]["start"])

    async def set_lang(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        arg = (context.args or [""])[0].lower()
        if arg not in ("fa", "en"):
            await self.send(update.effective_message.reply_text, TEXT[self.ui_lang(update)]["lang_usage"])
            return
        self.langs.set(str(update.effective_chat.id), arg)
        await self.send(update.effective_message.reply_text, TEXT[arg]["lang_set"])

    async def sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        lang = self.ui_lang(update)
        stats = await asyncio.to_thread(self.qa.stats)
        if not stats["articles"]:
            await self.send(update.effective_message.reply_text, TEXT[lang]["empty"])
            return
        since, until = stats["date_range"]
        msg = TEXT[lang]["sources"].format(
            articles=stats["articles"], passages=stats["passages"],
            langs=", ".join(f"{k}: {v}" for k, v in sorted(stats["languages"].items())),
            since=format_date(since, lang) or "—", until=format_date(until, lang) or "—")
        await self.send(update.effective_message.reply_text, persian_digits(msg) if lang == "fa" else msg)

    async def new(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.conversations.reset(str(update.effective_chat.id))
        await self.send(update.effective_message.reply_text, TEXT[self.ui_lang(update)]["new"])

    # ---- questions ----------------------------------------------------------------------------
    def question_of(self, update: Update, bot_username: str, bot_id: int) -> str | None:
        """The question in a message, or None when the bot should stay silent (groups, bots)."""
        msg = update.effective_message
        user = update.effective_user
        if msg is None or not msg.text or (user and user.is_bot):
            return None
        text = msg.text
        if update.effective_chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
            mention = f"@{bot_username}".lower()
            replied = msg.reply_to_message is not None and msg.reply_to_message.from_user is not None \
                and msg.reply_to_message.from_user.id == bot_id
            if mention not in text.lower() and not replied:
                return None
            text = re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE)
        return text.strip()

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        question = self.question_of(update, context.bot.username, context.bot.id)
        if question is None:
            return
        lang = detect_language(question) if question.strip() else self.ui_lang(update)
        if not self.allowed(update):
            await self.send(update.effective_message.reply_text, TEXT[lang]["denied"])
            return
        who = str(update.effective_user.id if update.effective_user else update.effective_chat.id)
        if not await asyncio.to_thread(self.limiter.allow, who):  # may ask Redis: off the event loop
            await self.send(update.effective_message.reply_text, TEXT[lang]["rate"])
            return
        chat_id = update.effective_chat.id
        await self.send(context.bot.send_chat_action, chat_id=chat_id, action=ChatAction.TYPING)
        cid = str(chat_id)
        history = await asyncio.to_thread(self.conversations.history, cid)
        try:
            ans = await self.answer(update, context, question, history)
        except KhabarError as exc:
            await self.send(update.effective_message.reply_text, exc.message(lang))
            return
        await asyncio.to_thread(self.conversations.add, cid, ans.standalone_question or ans.question, ans.answer)

    async def answer(self, update: Update, context, question: str, history) -> Answer:
        """Run the QA stream in a thread; with an LLM, edit one message as text arrives."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        def produce():
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
                    placeholder = await self.send(update.effective_message.reply_text, text, parse_mode=ParseMode.HTML)
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
                await self.send(update.effective_message.reply_text, html.escape(piece), **kwargs)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        lang = self.ui_lang(update)
        try:
            _, key, n = (query.data or "").split(":")
            cite, lang = self.recall(key, int(n))
        except (ValueError, KeyError, TypeError):
            await self.send(query.answer, TEXT[lang]["gone"])
            return
        await self.send(query.answer)
        await self.send(context.bot.send_message, chat_id=query.message.chat.id,
                        text=render_citation_html(cite, lang), parse_mode=ParseMode.HTML,
                        reply_to_message_id=query.message.message_id, disable_web_page_preview=True)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("Telegram handler failed", exc_info=context.error)
        if isinstance(update, Update) and update.effective_message:
            lang = self.ui_lang(update)
            try:
                await update.effective_message.reply_text(TEXT[lang]["error"])
            except Exception:  # noqa: BLE001 - the error reply is best effort
                log.warning("could not send the error reply", exc_info=True)


def build_telegram_app(settings: Settings, qa: QA, state: State | None = None) -> Application:
    """The python-telegram-bot Application with Khabar's handlers (token checked here); chat state in
    `state` (default: Redis when KHABAR_REDIS_URL is set, else in-process)."""
    token = (settings.telegram_token or "").strip()
    if not TOKEN_RE.match(token):
        raise TelegramConfigError("KHABAR_TELEGRAM_TOKEN")
    base = settings.telegram_api_url.rstrip("/")
    file_base = base[:-3] + "file/bot" if base.endswith("/bot") else base + "/file/bot"
    app = (ApplicationBuilder().token(token).base_url(base).base_file_url(file_base)
           .concurrent_updates(True).build())
    bot = KhabarBot(settings, qa, state)
    app.bot_data["khabar"] = bot
    app.add_handler(CommandHandler(["start", "help"], bot.start))
    app.add_handler(CommandHandler("lang", bot.set_lang))
    app.add_handler(CommandHandler("sources", bot.sources))
    app.add_handler(CommandHandler("new", bot.new))
    app.add_handler(CallbackQueryHandler(bot.on_button, pattern=r"^s:"))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, bot.on_message))
    app.add_error_handler(bot.on_error)
    return app


def run_telegram(settings: Settings, qa: QA) -> None:
    """Run the bot: long polling, or a webhook when KHABAR_TELEGRAM_WEBHOOK_URL is set."""
    app = build_telegram_app(settings, qa)
    if settings.telegram_webhook_url:
        if not settings.telegram_webhook_secret:
            raise TelegramConfigError(en="Set KHABAR_TELEGRAM_WEBHOOK_SECRET when using a webhook.",
                                      fa="برای وب‌هوک KHABAR_TELEGRAM_WEBHOOK_SECRET را تنظیم کنید.")
        path = settings.telegram_webhook_url.rstrip("/").rsplit("/", 1)[-1] or "telegram"
        app.run_webhook(listen=settings.telegram_webhook_listen, port=settings.telegram_webhook_port,
                        url_path=path, webhook_url=settings.telegram_webhook_url,
                        secret_token=settings.telegram_webhook_secret, allowed_updates=Update.ALL_TYPES)
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)

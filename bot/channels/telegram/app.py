"""The python-telegram-bot Application: token check, handlers, rate limiting, polling or webhook."""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable

from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.core.qa import QA
from bot.errors import TelegramConfigError
from bot.plumbing.state import State
from bot.settings import Settings
from index.errors import KhabarError

from .handlers import KhabarBot

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")

# New messages in private chats and groups only: a channel post would put answers in a newsroom's public
# channel, and answering an edit would answer the same question twice
ANSWERABLE = filters.UpdateType.MESSAGE & (filters.ChatType.PRIVATE | filters.ChatType.GROUPS)


class TelegramTokenRejected(TelegramConfigError):
    """The Bot API refused the token (revoked, mistyped, or a server that is not a Bot API)."""

    code = "telegram_token_rejected"
    fa = ("تلگرام توکن ربات را نپذیرفت؛ KHABAR_TELEGRAM_TOKEN (از BotFather) و اگر تنظیم شده، "
          "KHABAR_TELEGRAM_API_URL را بررسی کنید.")
    en = ("Telegram did not accept the bot token: check KHABAR_TELEGRAM_TOKEN (from BotFather) and, if set, "
          "KHABAR_TELEGRAM_API_URL.")


class TelegramUnreachable(KhabarError):
    """The Bot API server could not be reached (no network, a wrong KHABAR_TELEGRAM_API_URL)."""

    exit_code = 2
    code = "telegram_unreachable"
    fa = "به Bot API تلگرام دسترسی نشد؛ اتصال شبکه و KHABAR_TELEGRAM_API_URL را بررسی کنید."
    en = "Could not reach the Telegram Bot API: check the network and KHABAR_TELEGRAM_API_URL."


class TelegramStartFailed(KhabarError):
    """The Bot API refused a call the bot needs to start (setting the webhook, say)."""

    exit_code = 2
    code = "telegram_start_failed"
    fa = "تلگرام راه‌اندازی ربات را نپذیرفت."
    en = "Telegram refused to start the bot."


def masked(token: str) -> str:
    """The token as it may be shown: the bot's id (public) and no secret."""
    bot_id, colon, _ = token.partition(":")
    return f"{bot_id}:***" if colon and bot_id.isdigit() else "***"


class TokenMask(logging.Filter):
    """Replace the bot token in every log record (message, arguments, exception chain) before it is written:
    python-telegram-bot puts it in exception messages ("The token `…` was rejected")."""

    def __init__(self, token: str):
        super().__init__()
        self.token, self.shown = token, masked(token)

    def scrub(self, text: str) -> str:
        """`text` without the token."""
        return text.replace(self.token, self.shown) if self.token else text

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the record in place; never drops it."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed log call: logging reports it itself
            message = str(record.msg)
        if self.token and self.token in message:
            record.msg, record.args = self.scrub(message), None
        exc = record.exc_info[1] if record.exc_info else None
        seen: set[int] = set()
        while exc is not None and id(exc) not in seen:  # the exception and its causes, as the traceback shows
            seen.add(id(exc))
            exc.args = tuple(self.scrub(a) if isinstance(a, str) else a for a in exc.args)
            if isinstance(exc, TelegramError):
                exc.message = self.scrub(exc.message)
            exc = exc.__cause__ or exc.__context__
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True


def check_telegram_settings(settings: Settings) -> str:
    """The bot token, once the settings the bot cannot run without are there (a TelegramConfigError names
    the missing one): checked before the index is opened, so a misconfigured bot stops at once."""
    token = (settings.telegram_token or "").strip()
    if not TOKEN_RE.match(token):
        raise TelegramConfigError("KHABAR_TELEGRAM_TOKEN")
    if settings.telegram_webhook_url and not settings.telegram_webhook_secret:
        raise TelegramConfigError(en="Set KHABAR_TELEGRAM_WEBHOOK_SECRET when using a webhook.",
                                  fa="برای وب‌هوک KHABAR_TELEGRAM_WEBHOOK_SECRET را تنظیم کنید.")
    return token


def build_telegram_app(settings: Settings, qa: QA, state: State | None = None) -> Application:
    """The python-telegram-bot Application with Khabar's handlers (settings checked here); chat state in
    `state` (default: Redis when KHABAR_REDIS_URL is set, else in-process)."""
    token = check_telegram_settings(settings)
    base = settings.telegram_api_url.rstrip("/")
    file_base = base[:-3] + "file/bot" if base.endswith("/bot") else base + "/file/bot"
    # AIORateLimiter keeps within Telegram's flood limits and waits out RetryAfter (up to 3 times)
    app = (ApplicationBuilder().token(token).base_url(base).base_file_url(file_base)
           .rate_limiter(AIORateLimiter(max_retries=3)).concurrent_updates(True).build())
    bot = KhabarBot(settings, qa, state)
    app.bot_data["khabar"] = bot
    app.add_handler(CommandHandler(["start", "help"], bot.start, filters=ANSWERABLE))
    app.add_handler(CommandHandler("lang", bot.set_lang, filters=ANSWERABLE))
    app.add_handler(CommandHandler("sources", bot.sources, filters=ANSWERABLE))
    app.add_handler(CommandHandler("new", bot.new, filters=ANSWERABLE))
    app.add_handler(CallbackQueryHandler(bot.on_button, pattern=r"^s:"))
    app.add_handler(MessageHandler(ANSWERABLE & filters.TEXT & ~filters.COMMAND, bot.on_message))
    # reached only by commands the handlers above do not have (or addressed to another bot)
    app.add_handler(MessageHandler(ANSWERABLE & filters.COMMAND, bot.unknown_command))
    app.add_handler(MessageHandler(ANSWERABLE & ~filters.TEXT & ~filters.StatusUpdate.ALL, bot.not_text))
    app.add_error_handler(bot.on_error)
    return app


async def connect(app: Application, api_url: str, scrub: Callable[[str], str] = str) -> None:
    """Initialize the application (getMe): a rejected token or an unreachable server is a one-line error
    here, before python-telegram-bot's own start-up would log it with tracebacks."""
    try:
        await app.initialize()
    except TelegramError as exc:
        log.debug("Telegram start-up failed", exc_info=True)
        await app.bot.shutdown()  # the HTTP clients were opened before getMe failed
        reason = scrub(str(exc.__cause__ or exc))  # printed by the CLI, not logged: the log's mask misses it
        if isinstance(exc, InvalidToken):
            raise TelegramTokenRejected(f"{api_url}: {reason}") from exc
        if isinstance(exc, NetworkError):
            raise TelegramUnreachable(f"{api_url}: {reason}") from exc
        raise TelegramStartFailed(f"{api_url}: {reason}") from exc


def run_telegram(settings: Settings, qa: QA) -> None:
    """Run the bot: long polling, or a webhook when KHABAR_TELEGRAM_WEBHOOK_URL is set."""
    # before the bot exists: python-telegram-bot logs its API URLs, token included, as it builds one
    mask = TokenMask((settings.telegram_token or "").strip())
    for handler in logging.getLogger().handlers:  # handler filters see records of every logger
        handler.addFilter(mask)
    app = build_telegram_app(settings, qa)
    # one event loop for the check and the run: python-telegram-bot takes the current one and, already
    # initialized, does not ask getMe again
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(connect(app, settings.telegram_api_url, mask.scrub))
    except BaseException:
        loop.close()
        raise
    # only what the bot answers: Telegram then does not even send channel posts and edits
    updates = [Update.MESSAGE, Update.CALLBACK_QUERY]
    try:
        if settings.telegram_webhook_url:
            path = settings.telegram_webhook_url.rstrip("/").rsplit("/", 1)[-1] or "telegram"
            app.run_webhook(listen=settings.telegram_webhook_listen, port=settings.telegram_webhook_port,
                            url_path=path, webhook_url=settings.telegram_webhook_url,
                            secret_token=settings.telegram_webhook_secret, allowed_updates=updates)
        else:
            app.run_polling(allowed_updates=updates)
    except TelegramError as exc:
        raise TelegramStartFailed(mask.scrub(str(exc))) from exc

"""The python-telegram-bot Application: token check, handlers, rate limiting, polling or webhook."""
from __future__ import annotations

import re

from telegram import Update
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

from .handlers import KhabarBot

TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")

# New messages in private chats and groups only: a channel post would put answers in a newsroom's public
# channel, and answering an edit would answer the same question twice
ANSWERABLE = filters.UpdateType.MESSAGE & (filters.ChatType.PRIVATE | filters.ChatType.GROUPS)


def build_telegram_app(settings: Settings, qa: QA, state: State | None = None) -> Application:
    """The python-telegram-bot Application with Khabar's handlers (token checked here); chat state in
    `state` (default: Redis when KHABAR_REDIS_URL is set, else in-process)."""
    token = (settings.telegram_token or "").strip()
    if not TOKEN_RE.match(token):
        raise TelegramConfigError("KHABAR_TELEGRAM_TOKEN")
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


def run_telegram(settings: Settings, qa: QA) -> None:
    """Run the bot: long polling, or a webhook when KHABAR_TELEGRAM_WEBHOOK_URL is set."""
    app = build_telegram_app(settings, qa)
    # only what the bot answers: Telegram then does not even send channel posts and edits
    updates = [Update.MESSAGE, Update.CALLBACK_QUERY]
    if settings.telegram_webhook_url:
        if not settings.telegram_webhook_secret:
            raise TelegramConfigError(en="Set KHABAR_TELEGRAM_WEBHOOK_SECRET when using a webhook.",
                                      fa="برای وب‌هوک KHABAR_TELEGRAM_WEBHOOK_SECRET را تنظیم کنید.")
        path = settings.telegram_webhook_url.rstrip("/").rsplit("/", 1)[-1] or "telegram"
        app.run_webhook(listen=settings.telegram_webhook_listen, port=settings.telegram_webhook_port,
                        url_path=path, webhook_url=settings.telegram_webhook_url,
                        secret_token=settings.telegram_webhook_secret, allowed_updates=updates)
    else:
        app.run_polling(allowed_updates=updates)

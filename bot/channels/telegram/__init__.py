"""The Telegram channel (python-telegram-bot): renders the same Answer the web widget shows.

texts.py holds the bot's own words, render.py turns answers into Telegram HTML, handlers.py answers
updates, app.py builds the Application."""
from __future__ import annotations

from bot.errors import TelegramConfigError

from .app import build_telegram_app, check_telegram_settings, run_telegram
from .render import render_answer_html, render_citation_html, split_message

__all__ = ["TelegramConfigError", "build_telegram_app", "check_telegram_settings", "render_answer_html",
           "render_citation_html", "run_telegram", "split_message"]

"""Logging set-up: details to a log file (or JSON lines on stderr), never tracebacks to users."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from bot.settings import Settings


class JsonFormatter(logging.Formatter):
    """One JSON object per log line (KHABAR_LOG_JSON=1)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": round(record.created, 3), "level": record.levelname, "logger": record.name,
               "msg": record.getMessage()}
        for key in ("event", "latency_ms", "mode", "lang", "status", "path", "chat_id", "refused"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(settings: Settings, *, console: bool = False) -> Path | None:
    """Configure the root logger; returns the log file path when logging to a file.

    Servers (`console=True`) log to stderr; the CLI writes details to <data_dir>/khabar.log so a
    failure shows the user a message, and the traceback stays in the file.
    """
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.setLevel(settings.log_level.upper())
    for noisy in ("httpx", "chromadb", "urllib3", "httpcore", "telegram.ext.Updater"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    fmt = JsonFormatter() if settings.log_json else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s")
    if console or settings.log_json:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(fmt)
        root.addHandler(handler)
        return None
    if not Path(settings.data_dir).is_dir():  # asking about a missing index must not create one
        root.addHandler(logging.NullHandler())
        return None
    try:
        path = Path(settings.data_dir) / "khabar.log"
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        root.addHandler(logging.NullHandler())
        return None
    handler.setFormatter(fmt)
    root.addHandler(handler)
    return path

"""Answer-side errors with Persian and English user-facing messages (index errors share the base)."""
from __future__ import annotations

import logging
import re

from pydantic import ValidationError

from index.errors import (
    DictionaryUnavailable,
    EmbedderMismatch,
    EmbedderUnavailable,
    IndexMissing,
    KhabarError,
    LatentsNotKept,
    LoadError,
    NotFound,
    StoreUnavailable,
)

log = logging.getLogger(__name__)


class BadQuestion(KhabarError):
    """The question cannot be answered as given (empty, too long, no words)."""

    status = 422
    exit_code = 2
    code = "bad_question"


class EmptyQuestion(BadQuestion):
    """Empty or whitespace-only question."""

    code = "empty_question"
    fa = "پرسش خالی است؛ لطفاً پرسش خود را بنویسید."
    en = "The question is empty; please type a question."


class QuestionTooLong(BadQuestion):
    """A question over the length limit."""

    code = "question_too_long"

    def __init__(self, length: int, limit: int):
        super().__init__(
            fa=f"پرسش بیش از حد طولانی است ({length} نویسه؛ حداکثر {limit}). لطفاً کوتاه‌ترش کنید.",
            en=f"The question is too long ({length} characters; the limit is {limit}). Please shorten it.",
        )


class NoWords(BadQuestion):
    """A question with no letters or digits (emoji-only, control characters, binary)."""

    code = "no_words"
    fa = "پرسش هیچ واژه‌ای ندارد؛ لطفاً پرسش را با کلمات بنویسید."
    en = "The question has no words in it; please write it out in words."


_UNSHOWN = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffd\ufeff\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class BadDate(BadQuestion):
    """A --since/--until value that is not a date."""

    code = "bad_date"

    def __init__(self, value: str):
        # shown as one short plain line: no control or direction characters to reorder the message around it,
        # and a pasted page is not echoed back whole
        value = " ".join(_UNSHOWN.sub(" ", value).split())
        value = value if len(value) <= 40 else value[:40] + "…"
        super().__init__(
            fa=f"تاریخ «{value}» نامعتبر است؛ از قالب ۱۴۰۴-۱۱-۰۸ یا 2026-01-28 استفاده کنید.",
            en=f"'{value}' is not a date; use YYYY-MM-DD (Gregorian) or 1404-11-08 (Jalali).",
        )


class EmptyDateRange(BadQuestion):
    """A --since later than --until: no article can be in between."""

    code = "empty_date_range"

    def __init__(self, since: str, until: str):
        super().__init__(
            fa=f"بازه تاریخ خالی است: «از» ({since}) پس از «تا» ({until}) است.",
            en=f"The date range is empty: --since ({since}) is after --until ({until}).",
        )


class BadRequest(BadQuestion):
    """A request body that is not {question, conversation_id?, lang?}."""

    code = "bad_request"
    fa = "درخواست نامعتبر است؛ بدنه باید {question, conversation_id?, lang?} باشد."
    en = "Invalid request: the body must be {question, conversation_id?, lang?}."


class RateLimited(KhabarError):
    """Too many questions from one client."""

    status = 429
    code = "rate_limited"
    fa = "پرسش‌های شما بیش از حد مجاز است؛ لطفاً کمی بعد دوباره بپرسید."
    en = "Too many questions; please wait a moment and try again."


class Forbidden(KhabarError):
    """A client that is not allowed (origin, widget key, Telegram allowlist)."""

    status = 403
    code = "forbidden"
    fa = "دسترسی مجاز نیست."
    en = "Access is not allowed."


class Timeout(KhabarError):
    """Answering took longer than the request timeout."""

    status = 504
    code = "timeout"
    fa = "پاسخ‌گویی بیش از حد طول کشید؛ لطفاً دوباره تلاش کنید."
    en = "Answering took too long; please try again."


class StateConfigError(KhabarError):
    """KHABAR_REDIS_URL is not a Redis URL (or the redis client is not installed)."""

    exit_code = 2
    code = "state_config"
    fa = "نشانی KHABAR_REDIS_URL نامعتبر است؛ نمونه: redis://localhost:6379/0"
    en = "KHABAR_REDIS_URL is not a valid Redis URL; for example redis://localhost:6379/0"


class BodyTooLarge(KhabarError):
    """A request body over KHABAR_MAX_BODY_BYTES."""

    status = 413
    code = "body_too_large"

    def __init__(self, limit: int):
        super().__init__(fa=f"بدنهٔ درخواست بیش از حد بزرگ است (حداکثر {limit} بایت).",
                         en=f"The request body is too large (the limit is {limit} bytes).")


class HeadersTooLarge(KhabarError):
    """Request line and headers over KHABAR_MAX_HEADER_BYTES."""

    status = 431
    code = "headers_too_large"

    def __init__(self, limit: int):
        super().__init__(fa=f"سرآیندهای درخواست بیش از حد بزرگ است (حداکثر {limit} بایت).",
                         en=f"The request headers are too large (the limit is {limit} bytes).")


class BodyTimeout(KhabarError):
    """A client that did not send its request body in time."""

    status = 408
    code = "request_timeout"
    fa = "ارسال درخواست بیش از حد طول کشید."
    en = "The request took too long to arrive."


class Unauthorized(KhabarError):
    """A missing or wrong bearer token (for /metrics)."""

    status = 401
    code = "unauthorized"
    fa = "برای این نشانی توکن معتبر لازم است."
    en = "A valid bearer token is required here."


class RouteNotFound(KhabarError):
    """A path the server does not have."""

    status = 404
    code = "not_found"
    fa = "چنین نشانی‌ای وجود ندارد."
    en = "There is no such page."


class MethodNotAllowed(KhabarError):
    """A path asked with the wrong HTTP method (GET on /api/ask)."""

    status = 405
    code = "method_not_allowed"
    fa = "این روش درخواست برای این نشانی پشتیبانی نمی‌شود."
    en = "This HTTP method is not allowed here."


class HTTPFailure(KhabarError):
    """Any other HTTP error status, with a generic message."""

    code = "http_error"
    fa = "درخواست پذیرفته نشد."
    en = "The request was not accepted."

    def __init__(self, status: int):
        super().__init__()
        self.status = status


def reader_message(exc: KhabarError, lang: str) -> str:
    """What a reader of the widget or the bot is told (`KhabarError.public_message`); an error meant for the
    operator (paths, commands) is logged with its whole message, which the reader does not see."""
    if exc.operator:
        log.warning("%s: %s", exc.code, exc.message("en"))
    return exc.public_message(lang)


def http_error(status: int) -> KhabarError:
    """The user-facing error for an HTTP status the framework produced (404, 405, 400, …)."""
    known = {404: RouteNotFound, 405: MethodNotAllowed, 401: Unauthorized, 408: BodyTimeout}
    if status in known:
        return known[status]()
    if status == 400:
        return BadRequest()
    return HTTPFailure(status)


class OriginNotAllowed(KhabarError):
    """A CORS preflight from a page whose origin (or method, headers) the server does not allow."""

    status = 400
    code = "origin_not_allowed"
    fa = "این سرور پرسش از صفحه‌ای با این مبدأ را نمی‌پذیرد (KHABAR_ALLOWED_ORIGINS)."
    en = "This server does not take questions from a page of this origin (KHABAR_ALLOWED_ORIGINS)."


class TelegramConfigError(KhabarError):
    """A missing or malformed bot token."""

    exit_code = 2
    code = "telegram_config"
    fa = "توکن ربات تلگرام تنظیم نشده یا نادرست است؛ KHABAR_TELEGRAM_TOKEN را از BotFather بگیرید."
    en = "The Telegram bot token is missing or malformed: set KHABAR_TELEGRAM_TOKEN to the token BotFather gave you."


class SettingsError(KhabarError):
    """A KHABAR_* variable holds a value its setting cannot take (a negative bound, a word for a number)."""

    exit_code = 2
    code = "settings"
    fa = "مقدار یکی از تنظیم‌های KHABAR_ نادرست است"
    en = "A KHABAR_ setting has a value it cannot take"

    @classmethod
    def from_validation(cls, exc: ValidationError) -> SettingsError:
        """Name each rejected variable and say why (pydantic's reason)."""
        return cls("; ".join(f"KHABAR_{'_'.join(str(x) for x in e['loc']).upper()}: {e['msg']}" for e in exc.errors()))


# index/ knows nothing of HTTP: the status of each of its errors is decided here, at the web boundary
_INDEX_STATUS: dict[type[KhabarError], int] = {
    IndexMissing: 503, EmbedderMismatch: 409, EmbedderUnavailable: 500, StoreUnavailable: 503, NotFound: 404,
    LoadError: 400, LatentsNotKept: 503, DictionaryUnavailable: 503,
}


def http_status(exc: KhabarError) -> int:
    """The HTTP status for an error: its own `status` (answer-side errors) or the index table's."""
    if "status" in vars(exc):  # HTTPFailure carries the framework's status
        return int(vars(exc)["status"])
    for cls in type(exc).__mro__:
        if "status" in vars(cls):
            return int(vars(cls)["status"])
        if cls in _INDEX_STATUS:
            return _INDEX_STATUS[cls]
    return 400

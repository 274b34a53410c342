"""Index errors, each carrying a user-facing message in Persian and English (HTTP statuses are bot.errors' business)."""
from __future__ import annotations

from index.text import persian_digits_in_persian


class KhabarError(Exception):
    """Base of every error a user may see; `message(lang)` gives the text to show."""

    exit_code = 1
    code = "error"
    lang = "en"  # the asker's language, set where the error crosses a boundary
    fa = "خطایی رخ داد."
    en = "Something went wrong."

    def __init__(self, detail: str = "", *, fa: str | None = None, en: str | None = None):
        super().__init__(detail or en or self.en)
        self.detail = detail
        if fa:
            self.fa = fa
        if en:
            self.en = en

    def message(self, lang: str = "en") -> str:
        """The user-facing message in `lang` ('fa' or 'en'), with the detail appended."""
        # Persian text reads its numbers in Persian digits ("۱۵۹۹ نویسه"); a name's or path's digits stay
        base = persian_digits_in_persian(self.fa) if lang == "fa" else self.en
        return f"{base} ({self.detail})" if self.detail else base

    def public_message(self, lang: str = "en") -> str:
        """What a reader of the web widget or the Telegram bot is told: an error meant for the operator
        (paths, commands, settings) becomes a plain "not available"; the operator reads the log."""
        if not self.operator:
            return self.message(lang)
        return PUBLIC_UNAVAILABLE[lang if lang == "fa" else "en"]

    operator = False  # the message tells an operator what to do: readers get PUBLIC_UNAVAILABLE


PUBLIC_UNAVAILABLE = {
    "fa": "آرشیو خبرها اکنون در دسترس نیست؛ لطفاً کمی بعد دوباره بپرسید.",
    "en": "The news archive is not available right now; please try again later.",
}


class LoadError(KhabarError):
    """An input file or URL could not be read as articles."""

    code = "load_error"
    fa = "این ورودی خوانده نشد."
    en = "This input could not be read."

    def __init__(self, source: str, reason: str, line: int | None = None):
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {reason}")
        self.source, self.reason, self.line = source, reason, line
        self.link: str | None = None  # a feed entry's own link, when the entry failed (the watcher keeps it)


class LoadNote(LoadError):
    """Not a failure: the input was read, but something in it was dropped or degraded (said to the user)."""

    code = "load_note"
    fa = "نکته‌ای درباره این ورودی."
    en = "A note on this input."


class IndexMissing(KhabarError):
    """The data directory holds no index yet."""

    operator = True
    exit_code = 3
    code = "index_missing"
    fa = "هنوز هیچ خبری نمایه نشده است. ابتدا با «khabar index add PATH» خبرها را اضافه کنید."
    en = "Nothing is indexed yet. Add articles first with `khabar index add PATH`."


class EmbedderMismatch(KhabarError):
    """The collection was built by another embedder than the configured one."""

    operator = True
    exit_code = 4
    code = "embedder_mismatch"

    def __init__(self, built_with: str, configured: str):
        self.built_with, self.configured = built_with, configured
        super().__init__(
            en=(f"The index was built with embedder '{built_with}' but '{configured}' is configured. "
                f"Set KHABAR_EMBEDDER={built_with} or run `khabar index rebuild` to re-embed it."),
            fa=(f"این نمایه با مدل «{built_with}» ساخته شده ولی «{configured}» تنظیم شده است. "
                f"KHABAR_EMBEDDER={built_with} را تنظیم کنید یا «khabar index rebuild» را اجرا کنید."),
        )


class EmbedderUnavailable(KhabarError):
    """The configured embedder cannot be loaded (missing package or model path)."""

    operator = True
    exit_code = 4
    code = "embedder_unavailable"
    fa = "مدل بردارسازی بارگذاری نشد."
    en = "The embedding model could not be loaded."


class StoreUnavailable(KhabarError):
    """The Chroma store (embedded or server) cannot be opened."""

    operator = True
    exit_code = 5
    code = "store_unavailable"
    fa = "پایگاه داده در دسترس نیست."
    en = "The article store is unavailable."


class LatentsNotKept(KhabarError):
    """Passages' latent terms could not be written beside the index (read-only, full or broken disk)."""

    operator = True
    exit_code = 5
    code = "latents_not_kept"
    fa = "بردارهای پراکنده بندها در کنار نمایه ذخیره نشد."
    en = "The passages' latent terms could not be kept beside the index."


class DictionaryUnavailable(KhabarError):
    """The English-Persian dictionary could not be downloaded, read or built."""

    operator = True
    exit_code = 6
    code = "dictionary_unavailable"
    fa = "واژه‌نامه انگلیسی به فارسی در دسترس نیست."
    en = "The English-Persian dictionary is not available."


class NotFound(KhabarError):
    """An article id or URL is not in the index."""

    exit_code = 2
    code = "not_found"
    fa = "این خبر در نمایه نیست."
    en = "No such article in the index."

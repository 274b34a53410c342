"""Byte decoding for article files: UTF-8, UTF-16 (BOM) and Windows-1256, with binary refusal."""
from __future__ import annotations

from ..errors import LoadError

_ARABIC_RANGE = range(0x0600, 0x0700)


def decode_bytes(data: bytes, source: str) -> tuple[str, str | None]:
    """Decode `data` to text; returns (text, note) where note names a non-UTF-8 encoding used."""
    if not data.strip():
        raise LoadError(source, "the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "decoded as UTF-16"
        except UnicodeDecodeError as exc:
            raise LoadError(source, f"invalid UTF-16 text ({exc.reason})") from exc
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data[:8192]:
        # UTF-16 without a BOM has a NUL in every other byte; anything else with NULs is binary.
        sample = data[:8192]
        if sample.count(b"\x00") * 3 > len(sample) and len(data) % 2 == 0:
            for enc in ("utf-16-le", "utf-16-be"):
                try:
                    text = data.decode(enc)
                except UnicodeDecodeError:
                    continue
                if _mostly_text(text):
                    return text, f"decoded as {enc.upper()}"
        raise LoadError(source, "binary file, not text")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1256")
    except UnicodeDecodeError as exc:
        raise LoadError(source, "not valid UTF-8, UTF-16 or Windows-1256 text") from exc
    if not _mostly_text(text) or not any(ord(c) in _ARABIC_RANGE for c in text):
        raise LoadError(source, "binary or unknown encoding (not UTF-8, UTF-16 or Windows-1256)")
    return text, "decoded as Windows-1256"


def _mostly_text(text: str) -> bool:
    sample = text[:4096]
    if not sample:
        return False
    bad = sum(1 for c in sample if (ord(c) < 32 and c not in "\r\n\t") or c == "\ufffd")
    return bad * 50 < len(sample)

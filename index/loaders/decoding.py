"""Byte decoding for article files: UTF-8, UTF-16 (BOM) and Windows-1256, with binary refusal.

When the bytes are not clean UTF-8, the choice is said in a per-file note, and it is made so the
text stays readable: mostly-valid UTF-8 keeps its good characters (bad bytes become U+FFFD) and
Windows-1256 is chosen only when the bytes really read as Persian/Arabic in it, never as a
fallback that would silently turn an English file into mojibake.
"""
from __future__ import annotations

from ..errors import LoadError

_ARABIC_RANGE = range(0x0600, 0x0700)
_ARABIC_EXTRA = {0x200C, 0x200D, 0x060C, 0x061B, 0x061F, 0x0640}  # ZWNJ, ZWJ, ، ؛ ؟ ـ


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
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode())  # replacement chars the file had itself
    high = len(data.translate(None, bytes(range(0x80))))  # bytes outside ASCII: UTF-8 sequences or another encoding
    if _looks_cp1256(data, bad, high):
        return data.decode("cp1256"), "not UTF-8: decoded as Windows-1256 (the bytes read as Persian/Arabic in it)"
    # Mostly valid UTF-8 (a few corrupt bytes), or ASCII text with a few bytes of some other
    # encoding: keep it readable and say where the first bad byte is.
    if (bad * 5 <= high or bad * 50 <= len(data)) and _mostly_text(text):
        first = text.index("\ufffd")
        line = text.count("\n", 0, first) + 1
        return text, (f"not valid UTF-8: {bad} undecodable byte sequence(s) shown as \ufffd "
                      f"(the first on line {line})")
    raise LoadError(source, "binary or unknown encoding (not UTF-8, UTF-16 or Windows-1256)")


def _looks_cp1256(data: bytes, bad: int, high: int) -> bool:
    """Windows-1256 only when most non-ASCII bytes are invalid UTF-8 and read as Arabic letters."""
    if bad * 2 < high:  # most of its non-ASCII bytes are well-formed UTF-8: it is UTF-8
        return False
    try:
        text = data.decode("cp1256")
    except UnicodeDecodeError:
        return False
    non_ascii = [c for c in text if ord(c) >= 0x80]
    arabic = sum(1 for c in non_ascii if ord(c) in _ARABIC_RANGE or ord(c) in _ARABIC_EXTRA)
    return _mostly_text(text) and arabic >= 4 and arabic * 10 >= len(non_ascii) * 7


def _mostly_text(text: str) -> bool:
    sample = text[:4096]
    if not sample:
        return False
    bad = sum(1 for c in sample if (ord(c) < 32 and c not in "\r\n\t") or c == "\ufffd")
    return bad * 50 < len(sample)

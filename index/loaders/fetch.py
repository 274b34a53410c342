"""HTTP fetching for URLs and feeds, with timeouts and a size limit."""
from __future__ import annotations

from dataclasses import dataclass

import httpx

from ..errors import LoadError

USER_AGENT = "Khabar/0.1 (+news question answering)"


@dataclass
class Fetched:
    """A fetched resource: final URL, content type and raw bytes."""

    url: str
    content_type: str
    data: bytes


def fetch_url(url: str, timeout: float, max_bytes: int) -> Fetched:
    """GET `url` following redirects; LoadError on timeout, HTTP error or a body over `max_bytes`."""
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=True,
                          headers={"User-Agent": USER_AGENT}) as client:
            with client.stream("GET", url) as resp:
                if resp.status_code >= 400:
                    raise LoadError(url, f"HTTP {resp.status_code}")
                declared = int(resp.headers.get("content-length") or 0)
                if declared > max_bytes:
                    raise LoadError(url, f"too large ({declared // 1_000_000} MB > {max_bytes // 1_000_000} MB)")
                chunks, size = [], 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise LoadError(url, f"too large (over {max_bytes // 1_000_000} MB)")
                    chunks.append(chunk)
                return Fetched(str(resp.url), resp.headers.get("content-type", ""), b"".join(chunks))
    except httpx.TimeoutException as exc:
        raise LoadError(url, f"timed out after {timeout:g} s") from exc
    except httpx.HTTPError as exc:
        raise LoadError(url, f"could not fetch ({type(exc).__name__}: {exc})") from exc

"""HTTP fetching for URLs and feeds: public addresses only, a total deadline and a size cap per download.

Server-side request forgery is the risk: a feed entry's link or a redirect may point at the
operator's own network (127.0.0.1/admin, 169.254.169.254). So the host name is resolved here,
every address is checked, and the connection is made to the checked address itself (no second
DNS lookup a rebinding server could answer differently). Redirects are followed one by one and
each hop goes through the same check. KHABAR_ALLOW_PRIVATE_URLS=1 or KHABAR_FETCH_ALLOWED_HOSTS
lift the check for operators who index their own intranet.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from httpcore._backends.sync import SyncStream

from ..errors import LoadError
from .limits import Limits

USER_AGENT = "Khabar/0.1 (+news question answering)"
REDIRECTS = {301, 302, 303, 307, 308}
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
            ipaddress.ip_address("100.100.100.200")}  # AWS/GCP/Azure, AWS IPv6, Alibaba
ALLOW_HINT = "set KHABAR_ALLOW_PRIVATE_URLS=1 or list the host in KHABAR_FETCH_ALLOWED_HOSTS to allow it"


@dataclass
class Fetched:
    """A fetched resource: final URL, content type and raw bytes."""

    url: str
    content_type: str
    data: bytes


class Refused(Exception):
    """A URL Khabar will not fetch (private address, bad scheme); the message says why."""


def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why `ip` must not be fetched (loopback, private, link-local, metadata, …), or None if public."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for test, what in ((lambda a: a in METADATA, "a cloud metadata address"),
                       (lambda a: a.is_loopback, "a loopback address"),
                       (lambda a: a.is_unspecified, "an unspecified address"),
                       (lambda a: a.is_link_local, "a link-local address"),
                       (lambda a: a.is_multicast, "a multicast address"),
                       (lambda a: a.is_private, "a private address"),
                       (lambda a: a.is_reserved, "a reserved address"),
                       (lambda a: not a.is_global, "not a public address")):
        if test(ip):
            return what
    return None


def _resolve(host: str, port: int, timeout: float) -> list[tuple]:
    """getaddrinfo with a timeout (it has none of its own): [(family, sockaddr), …]."""
    box: dict = {}

    def run() -> None:
        try:
            box["ok"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["err"] = exc

    t = threading.Thread(target=run, daemon=True, name="khabar-dns")
    t.start()
    t.join(max(timeout, 0.0))
    if "ok" in box:
        return [(fam, addr) for fam, _, _, _, addr in box["ok"]]
    if "err" in box:
        raise httpcore.ConnectError(f"cannot resolve {host} ({box['err']})")
    raise httpcore.ConnectTimeout(f"resolving {host} timed out")


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the download's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float):
        self._inner, self._deadline = inner, deadline

    def _left(self, timeout: float | None, exc: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise exc("the download deadline passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
                  ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, self._left(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves, checks and connects to the checked address (pinned: no second lookup)."""

    def __init__(self, limits: Limits, deadline: float):
        self.limits, self.deadline = limits, deadline

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ConnectTimeout("the download deadline passed")
        addrs = _resolve(host, port, left)
        if not addrs:
            raise httpcore.ConnectError(f"cannot resolve {host}")
        if not host_allowed(host, self.limits):
            for _, sockaddr in addrs:
                problem = address_problem(ipaddress.ip_address(sockaddr[0].split("%")[0]))
                if problem:
                    shown = host if host == sockaddr[0] else f"{host} ({sockaddr[0]})"
                    raise Refused(f"refused: {shown} is {problem}; {ALLOW_HINT}")
        last: Exception | None = None
        for family, sockaddr in addrs:
            left = self.deadline - time.monotonic()
            if left <= 0:
                break
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(min(left, timeout or left))
                sock.connect(sockaddr)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return _DeadlineStream(SyncStream(sock), self.deadline)
            except OSError as exc:
                sock.close()
                last = exc
        if isinstance(last, socket.timeout) or last is None:
            raise httpcore.ConnectTimeout(f"connecting to {host} timed out")
        raise httpcore.ConnectError(f"cannot connect to {host} ({last})")

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None
                            ) -> httpcore.NetworkStream:  # pragma: no cover
        raise Refused("refused: Unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:  # pragma: no cover - only used by retries
        time.sleep(seconds)


def host_allowed(host: str, limits: Limits) -> bool:
    """True when the operator allows private addresses in general or for this host."""
    return limits.allow_private or host.lower().rstrip(".").strip("[]") in limits.allowed_hosts


def check_url(url: str) -> None:
    """Refuse URLs that are not plain http(s) with a host (javascript:, file:, data:, user@host…)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise Refused(f"refused: only http and https URLs are fetched, not {parts.scheme or 'this'}:")
    if not parts.hostname:
        raise Refused("refused: the URL has no host")


def _client(limits: Limits, deadline: float) -> httpx.Client:
    transport = httpx.HTTPTransport(trust_env=False)
    # the same pool httpx builds, with our resolver/connector in place of the default one
    transport._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(),
                                              network_backend=_GuardedBackend(limits, deadline))
    return httpx.Client(transport=transport, timeout=httpx.Timeout(limits.timeout), follow_redirects=False,
                        headers={"User-Agent": USER_AGENT}, trust_env=False)


def fetch_url(url: str, timeout: float | Limits = 15.0, max_bytes: int | None = None) -> Fetched:
    """GET `url` (public addresses only, redirects checked hop by hop) within one total deadline;
    LoadError on refusal, timeout, HTTP error or a body over the size limit."""
    limits = timeout if isinstance(timeout, Limits) else Limits(timeout=timeout, max_bytes=max_bytes or 20_000_000)
    max_bytes = limits.max_bytes
    deadline = time.monotonic() + limits.timeout
    current = url
    try:
        with _client(limits, deadline) as client:
            for _ in range(limits.max_redirects + 1):
                check_url(current)
                with client.stream("GET", current) as resp:
                    location = resp.headers.get("location")
                    if resp.status_code in REDIRECTS and location:
                        current = urljoin(str(resp.url), location.strip())
                        continue
                    if resp.status_code >= 400:
                        raise LoadError(url, f"HTTP {resp.status_code}")
                    declared = resp.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise LoadError(url, f"too large ({int(declared) / 1e6:.0f} MB; the limit is "
                                             f"{max_bytes / 1e6:.0f} MB, KHABAR_MAX_FILE_MB)")
                    chunks, size = [], 0
                    for chunk in resp.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise LoadError(url, f"too large (over {max_bytes / 1e6:.0f} MB, KHABAR_MAX_FILE_MB)")
                        if time.monotonic() > deadline:
                            raise httpx.ReadTimeout("the download deadline passed")
                        chunks.append(chunk)
                    return Fetched(str(resp.url), resp.headers.get("content-type", ""), b"".join(chunks))
            raise LoadError(url, f"too many redirects (more than {limits.max_redirects})")
    except Refused as exc:
        where = "" if current == url else f" (redirected to {current})"
        raise LoadError(url, f"{exc}{where}") from None
    except httpx.TimeoutException as exc:
        raise LoadError(url, f"timed out: the download took over {limits.timeout:g} s (KHABAR_FETCH_TIMEOUT)") from exc
    except httpx.HTTPError as exc:
        raise LoadError(url, f"could not fetch ({type(exc).__name__}: {exc})") from exc
    except (httpx.InvalidURL, ValueError) as exc:  # a malformed URL or host name (UnicodeError too)
        raise LoadError(url, f"not a valid URL ({exc})") from exc

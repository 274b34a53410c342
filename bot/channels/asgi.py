"""ASGI guards around the web app: body size and read time, trusted proxies, JSON for every error,
and the uvicorn server settings (header size and time limits, keep-alive, no proxy headers)."""
from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.errors import (
    BodyTimeout,
    BodyTooLarge,
    HeadersTooLarge,
    OriginNotAllowed,
    http_error,
    http_status,
    reader_message,
)
from bot.settings import Settings
from index.errors import KhabarError

log = logging.getLogger(__name__)


def asker_language(headers: list[tuple[bytes, bytes]]) -> str:
    """'fa' when the client's Accept-Language starts with Persian, else 'en'."""
    for name, value in headers:
        if name.lower() == b"accept-language":
            return "fa" if value.decode("latin-1").strip().lower().startswith("fa") else "en"
    return "en"


def error_json(exc: KhabarError, lang: str) -> bytes:
    """The {error, message} body every error status carries."""
    return json.dumps({"error": exc.code, "message": reader_message(exc, lang)}, ensure_ascii=False).encode()


async def send_error(send: Send, exc: KhabarError, lang: str, status: int | None = None,
                     extra: list[tuple[bytes, bytes]] | None = None) -> None:
    """Send a complete JSON error response on a raw ASGI channel."""
    body = error_json(exc, lang)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *(extra or [])]
    await send({"type": "http.response.start", "status": status or http_status(exc), "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413 (Content-Length checked first, then bytes counted
    as they stream in, so a big body is never held whole) and bodies slower than `timeout` with 408."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float, max_header_bytes: int = 16_384):
        self.app, self.max_bytes, self.timeout, self.max_header_bytes = app, max_bytes, timeout, max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        lang = asker_language(scope.get("headers", []))
        head = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") \
            + sum(len(k) + len(v) + 4 for k, v in scope.get("headers", []))
        if head > self.max_header_bytes:  # arrived in one piece, so the server's own limit let it by
            return await send_error(send, HeadersTooLarge(self.max_header_bytes), lang,
                                    extra=[(b"connection", b"close")])
        for name, value in scope.get("headers", []):
            if name.lower() == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    return await send_error(send, BodyTooLarge(self.max_bytes), lang,
                                            extra=[(b"connection", b"close")])
                if declared < 0:
                    return await send_error(send, http_error(400), lang, 400, [(b"connection", b"close")])
        state: dict[str, Any] = {"started": False, "hijacked": False, "received": 0, "done": False}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout

        async def guarded_send(message: Message) -> None:
            if state["hijacked"]:
                return  # our error went out already; the app's late reply is dropped
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        async def refuse(exc: KhabarError) -> Message:
            if not state["started"]:
                state["hijacked"] = True
                await send_error(send, exc, lang, extra=[(b"connection", b"close")])
            return {"type": "http.disconnect"}

        async def guarded_receive() -> Message:
            if state["done"] or state["hijacked"]:
                return await receive()  # after the body: waiting for a disconnect, no deadline
            try:
                message = await asyncio.wait_for(receive(), max(0.001, deadline - loop.time()))
            except TimeoutError:
                return await refuse(BodyTimeout())
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_bytes:
                    return await refuse(BodyTooLarge(self.max_bytes))
                if not message.get("more_body", False):
                    state["done"] = True
            return message

        await self.app(scope, guarded_receive, guarded_send)


class JSONErrors:
    """Give every error response the {error, message} JSON body, whatever produced it (a CORS
    preflight refusal, a framework default); JSON error responses pass through untouched."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        held: dict = {}
        preflight = scope.get("method") == "OPTIONS" and any(
            k.lower() == b"access-control-request-method" for k, _ in scope.get("headers", []))

        async def rewriting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                headers = message.get("headers", [])
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if not ctype.startswith(b"application/json"):
                    held["start"] = message
                    return
            if "start" in held:
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    start = held["start"]
                    keep = [(k, v) for k, v in start.get("headers", [])
                            if k.lower() not in (b"content-type", b"content-length")]
                    exc = http_error(start["status"])
                    if start["status"] == 400 and preflight:  # Starlette's CORS refusal: name its cause
                        exc = OriginNotAllowed()
                    await send_error(send, exc, asker_language(scope.get("headers", [])), start["status"], keep)
                return
            await send(message)

        await self.app(scope, receive, rewriting_send)


class TrustedProxies:
    """Take the client address from X-Forwarded-For only when the socket peer is a trusted proxy
    (KHABAR_TRUSTED_PROXIES); otherwise the peer itself is the client, whatever the headers say."""

    def __init__(self, app: ASGIApp, proxies: list[str]):
        self.app = app
        self.networks = [ipaddress.ip_network(p, strict=False) for p in proxies]

    def trusted(self, host: str | None) -> bool:
        """True when `host` is one of the trusted proxies."""
        try:
            ip = ipaddress.ip_address(host or "")
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.networks:
            client = scope.get("client")
            if client and self.trusted(client[0]):
                forwarded = b",".join(v for k, v in scope.get("headers", []) if k.lower() == b"x-forwarded-for")
                hops = [h.strip() for h in forwarded.decode("latin-1").split(",") if h.strip()]
                # the right-most address no trusted proxy added is the real client
                for hop in reversed(hops):
                    if not self.trusted(hop):
                        try:
                            ipaddress.ip_address(hop)
                        except ValueError:
                            break
                        scope = dict(scope, client=(hop, 0))
                        break
        return await self.app(scope, receive, send)


def add_guards(app: Any, settings: Settings, cors: tuple | None = None) -> None:
    """Install the guards on a Starlette/FastAPI app, outermost first: trusted proxies (the client
    address everything else sees), JSON errors, CORS (so errors carry its headers), body limit."""
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, timeout=settings.body_timeout,
                       max_header_bytes=settings.max_header_bytes)
    if cors:
        app.add_middleware(cors[0], **cors[1])
    app.add_middleware(JSONErrors)
    app.add_middleware(TrustedProxies, proxies=settings.trusted_proxy_list())


def _h11_with_header_timeout(header_timeout: float) -> type:
    """uvicorn's h11 protocol with a deadline for the request line and headers (slowloris)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutH11(H11Protocol):
        _header_timer = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                log.info("closing a connection that sent no complete request headers in %s s", header_timeout)
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self._arm()  # still waiting for (the rest of) a request's headers
            else:
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def send_400_response(self, msg: str) -> None:
            """A malformed request or headers over the size limit: the same JSON error as the app's."""
            body = error_json(http_error(400), "en")
            headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
            for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                          h11.Data(data=body), h11.EndOfMessage()):
                self.transport.write(self.conn.send(event))
            self.transport.close()

    return HeaderTimeoutH11


def server_config(app: Any, settings: Settings, host: str | None = None, port: int | None = None,
                  log_level: str = "warning") -> Any:
    """The uvicorn Config `khabar serve` runs: limits on headers, their arrival time and keep-alive,
    and no proxy headers (X-Forwarded-For is handled by TrustedProxies with KHABAR_TRUSTED_PROXIES)."""
    import uvicorn

    return uvicorn.Config(app, host=host or settings.host, port=port or settings.port, log_level=log_level,
                          http=_h11_with_header_timeout(settings.header_timeout),
                          h11_max_incomplete_event_size=settings.max_header_bytes,
                          timeout_keep_alive=max(1, int(settings.keep_alive_timeout)),
                          proxy_headers=False, server_header=False)

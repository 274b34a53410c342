"""A tiny threaded HTTP server on 127.0.0.1 serving scripted routes (pages, feeds, slow replies)."""
from __future__ import annotations

import json
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


def free_port() -> int:
    """A loopback port nobody listens on right now, below Linux's ephemeral range (32768+), so no outgoing
    connection takes it between this check and the server binding it (or a restart on the same port)."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port in 20000-32000")


def wait_http(url: str, timeout: float = 90.0) -> None:
    """Wait until `url` answers below 500 (a server started by a test is up)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not come up")


def send_json(handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
    """Write a JSON response from a request handler."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 (a free port) running `handler` until closed."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Routes(dict):
    """path → (status, content_type, body bytes, delay seconds[, extra headers, drip seconds per byte])."""


class LocalServer(LoopbackServer):
    """Serve `routes` until closed; routes may be changed while running."""

    def __init__(self, routes: dict | None = None):
        self.routes = Routes(routes or {})
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                outer.hits.append(self.path)
                status, ctype, body, delay, *more = outer.routes.get(self.path, (404, "text/plain", b"not found", 0))
                headers, drip = (more + [{}, 0])[:2] if more else ({}, 0)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if not drip:
                        self.wfile.write(body)
                    for i in range(len(body) if drip else 0):  # a slow-drip server: one byte at a time
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                        time.sleep(drip)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, path: str, body: str | bytes, ctype: str = "text/html; charset=utf-8", status: int = 200,
            delay: float = 0, headers: dict | None = None, drip: float = 0):
        self.routes[path] = (status, ctype, body.encode() if isinstance(body, str) else body, delay,
                             headers or {}, drip)

    def redirect(self, path: str, location: str, status: int = 302):
        """Answer `path` with a redirect to `location`."""
        self.set(path, b"", status=status, headers={"Location": location})


def article_html(title: str, paragraphs: list[str], date: str = "2025-05-01") -> str:
    """A news page with navigation chrome around the article body."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html><head><title>{title}</title><meta property='article:published_time' content='{date}'>"
            f"</head><body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
            f"<article><h1>{title}</h1>{body}</article><footer>Copyright Example News</footer></body></html>")


def rss(items: list[dict], title: str = "Example feed") -> str:
    """An RSS 2.0 document with the given items (title, link, description, pubDate)."""
    parts = []
    for it in items:
        parts.append(f"<item><title>{it['title']}</title><link>{it['link']}</link>"
                     f"<description>{it.get('description', '')}</description>"
                     f"<pubDate>{it.get('pubDate', 'Mon, 05 May 2025 10:00:00 GMT')}</pubDate>"
                     f"<guid>{it['link']}</guid></item>")
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{title}</title>"
            f"<link>http://example.org/</link><description>x</description>{''.join(parts)}</channel></rss>")

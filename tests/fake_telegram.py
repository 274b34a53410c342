"""A local HTTP server that speaks the Telegram Bot API methods the bot uses, recording every call."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl

from .localhttp import LoopbackServer, send_json

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Khabar", "username": "khabar_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}


class FakeBotAPI(LoopbackServer):
    """Serve /bot<TOKEN>/<method>; queue updates for getUpdates; script failures per method."""

    def __init__(self, token: str):
        self.token = token
        self.calls: list[tuple[str, dict]] = []
        self.updates: list[dict] = []
        self.failures: dict[str, list[dict]] = {}
        self._next_id = 1000
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self._handle()

            def do_GET(self):  # noqa: N802
                self._handle()

            def _handle(self):
                prefix = f"/bot{outer.token}/"
                if not self.path.startswith(prefix):
                    send_json(self, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                method = self.path[len(prefix):].split("?")[0]
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                ctype = self.headers.get("content-type", "")
                if "json" in ctype:
                    params = json.loads(raw or b"{}")
                else:
                    params = dict(parse_qsl(raw.decode()))
                    for k, v in list(params.items()):
                        if isinstance(v, str) and v[:1] in "[{":
                            try:
                                params[k] = json.loads(v)
                            except ValueError:
                                pass
                status, body = outer.respond(method, params)
                send_json(self, status, body)

            def log_message(self, *args):
                pass

        super().__init__(Handler)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def sent(self, method: str = "sendMessage") -> list[dict]:
        return [p for m, p in self.calls if m == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 30.0) -> list[dict]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.sent(method)) >= count:
                return self.sent(method)
            time.sleep(0.05)
        raise AssertionError(f"{method} was called {len(self.sent(method))} times, expected {count}")

    def _message(self, params: dict) -> dict:
        with self._lock:
            self._next_id += 1
            mid = self._next_id
        chat_id = int(params.get("chat_id", 0))
        return {"message_id": mid, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER, "text": params.get("text", "")}

    def respond(self, method: str, params: dict) -> tuple[int, dict]:
        if method != "getUpdates":
            self.calls.append((method, params))
        scripted = self.failures.get(method)
        if scripted:
            fail = scripted.pop(0)
            return fail["status"], fail["body"]
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method in ("sendMessage", "editMessageText"):
            return 200, {"ok": True, "result": self._message(params)}
        if method == "getUpdates":
            offset = int(params.get("offset", 0) or 0)
            deadline = time.time() + min(float(params.get("timeout", 0) or 0), 1.0)
            while True:
                with self._lock:
                    ready = [u for u in self.updates if u["update_id"] >= offset]
                if ready or time.time() >= deadline:
                    return 200, {"ok": True, "result": ready}
                time.sleep(0.05)
        if method == "getWebhookInfo":
            return 200, {"ok": True, "result": {"url": "", "has_custom_certificate": False,
                                                "pending_update_count": 0}}
        return 200, {"ok": True, "result": True}

    def bad_gateway(self, method: str) -> None:
        """Make the next call of `method` fail with 502 (python-telegram-bot raises NetworkError)."""
        self.failures.setdefault(method, []).append({"status": 502, "body": {
            "ok": False, "error_code": 502, "description": "Bad Gateway"}})

    def retry_after(self, method: str, seconds: int = 1) -> None:
        """Make the next call of `method` fail with 429 Too Many Requests."""
        self.failures.setdefault(method, []).append({"status": 429, "body": {
            "ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {seconds}",
            "parameters": {"retry_after": seconds}}})

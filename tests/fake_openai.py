"""A local OpenAI-compatible chat server (127.0.0.1) that replays scripted replies, streamed or not."""
from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler

from .localhttp import LoopbackServer, send_json


class FakeOpenAI(LoopbackServer):
    """POST /v1/chat/completions answers with `reply(messages)` (a str), recording every request."""

    def __init__(self, reply=None, delay: float = 0.0):
        self.reply = reply or (lambda messages: "OK")
        self.delay = delay
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                outer.requests.append(body)
                if outer.delay:
                    time.sleep(outer.delay)
                text = outer.reply(body.get("messages", []))
                try:
                    if body.get("stream"):
                        self._stream(body, text)
                    else:
                        self._json(body, text)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _json(self, body, text):
                send_json(self, 200, {
                    "id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

            def _stream(self, body, text):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                pieces = [text[i:i + 12] for i in range(0, len(text), 12)] or [""]
                for i, piece in enumerate(pieces):
                    delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
                    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": int(time.time()),
                             "model": body.get("model", "fake"),
                             "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                    self._chunk(f"data: {json.dumps(chunk)}\n\n")
                done = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": body.get("model", "fake"), "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self._chunk(f"data: {json.dumps(done)}\n\n")
                self._chunk("data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")

            def _chunk(self, s: str):
                data = s.encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def log_message(self, *args):
                pass

        super().__init__(Handler)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def last_user(messages: list[dict]) -> str:
    """The content of the last user message."""
    return next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")


def system_text(messages: list[dict]) -> str:
    """The system prompt."""
    return next((m["content"] for m in messages if m.get("role") == "system"), "")

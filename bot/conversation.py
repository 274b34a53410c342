"""Conversation histories per conversation id, bounded in turns, characters and count."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict


class Conversations:
    """In-memory (question, answer) history per conversation id; old conversations are evicted."""

    def __init__(self, turns: int = 6, chars: int = 4000, max_conversations: int = 10_000,
                 ttl_seconds: float = 6 * 3600):
        self.turns, self.chars = turns, chars
        self.max_conversations, self.ttl = max_conversations, ttl_seconds
        self._data: OrderedDict[str, tuple[float, list[tuple[str, str]]]] = OrderedDict()
        self._lock = threading.Lock()

    def history(self, cid: str | None) -> list[tuple[str, str]]:
        """The bounded history of `cid` (empty for None or unknown)."""
        if not cid:
            return []
        with self._lock:
            item = self._data.get(cid)
            if not item or time.monotonic() - item[0] > self.ttl:
                return []
            return list(item[1])

    def add(self, cid: str | None, question: str, answer: str) -> None:
        """Append a turn, trimming to the last `turns` turns and `chars` characters."""
        if not cid:
            return
        with self._lock:
            _, turns = self._data.pop(cid, (0.0, []))
            turns = (turns + [(question[: self.chars], answer[: self.chars])])[-self.turns:]
            while len(turns) > 1 and sum(len(q) + len(a) for q, a in turns) > self.chars:
                turns.pop(0)
            self._data[cid] = (time.monotonic(), turns)
            while len(self._data) > self.max_conversations:
                self._data.popitem(last=False)

    def reset(self, cid: str | None) -> None:
        """Forget a conversation."""
        with self._lock:
            self._data.pop(cid or "", None)

"""Conversation histories per conversation id, bounded in turns, characters, count and idle time."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict

Turn = tuple[str, str]  # (the question as searched, the answer)


def bound_turn(question: str, answer: str, chars: int) -> Turn:
    """One turn cut to `chars` characters in all: the question first, the answer gets the rest."""
    question = question[:chars]
    return question, answer[: max(0, chars - len(question))]


def bound_turns(turns: list[Turn], max_turns: int, chars: int) -> list[Turn]:
    """The newest turns that fit in `max_turns` turns and `chars` characters (at least the last one)."""
    turns = turns[-max_turns:] if max_turns > 0 else []
    while len(turns) > 1 and sum(len(q) + len(a) for q, a in turns) > chars:
        turns = turns[1:]
    return turns


class Conversations:
    """In-process (question, answer) history per conversation id; the oldest or idle ones are evicted."""

    backend = "memory"

    def __init__(self, turns: int = 6, chars: int = 4000, max_conversations: int = 10_000,
                 ttl_seconds: float = 6 * 3600):
        self.turns, self.chars = turns, chars
        self.max_conversations, self.ttl = max_conversations, ttl_seconds
        self._data: OrderedDict[str, tuple[float, list[Turn]]] = OrderedDict()
        self._lock = threading.Lock()

    def history(self, cid: str | None) -> list[Turn]:
        """The bounded history of `cid` (empty for None, unknown or expired)."""
        if not cid:
            return []
        with self._lock:
            item = self._data.get(cid)
            if not item:
                return []
            if time.monotonic() - item[0] > self.ttl:
                del self._data[cid]
                return []
            return list(item[1])

    def add(self, cid: str | None, question: str, answer: str) -> None:
        """Append a turn, keeping the last `turns` turns within `chars` characters."""
        if not cid:
            return
        now = time.monotonic()
        with self._lock:
            stamp, turns = self._data.pop(cid, (now, []))
            if now - stamp > self.ttl:
                turns = []
            turns = bound_turns(turns + [bound_turn(question, answer, self.chars)], self.turns, self.chars)
            self._data[cid] = (now, turns)
            while len(self._data) > self.max_conversations:
                self._data.popitem(last=False)

    def reset(self, cid: str | None) -> None:
        """Forget a conversation."""
        with self._lock:
            self._data.pop(cid or "", None)

    def __len__(self) -> int:
        return len(self._data)

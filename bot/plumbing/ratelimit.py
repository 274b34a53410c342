"""Per-client rate limiting in one process (a sliding one-minute window), shared by the web API and
Telegram; bot/plumbing/state.py shares it between workers through Redis."""
from __future__ import annotations

import threading
import time
from collections import deque

WINDOW_SECONDS = 60.0


class RateLimiter:
    """Sliding one-minute window per client key, in this process's memory."""

    backend = "memory"

    def __init__(self, per_minute: int, max_keys: int = 50_000):
        self.per_minute = per_minute
        self.max_keys = max_keys
        self._hits: dict[str, deque] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Record a request from `key`; False when over the limit."""
        if self.per_minute <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            q = self._hits.setdefault(key, deque())
            while q and now - q[0] > WINDOW_SECONDS:
                q.popleft()
            if len(q) >= self.per_minute:
                return False
            q.append(now)
            if len(self._hits) > self.max_keys:  # forget idle clients
                for k in [k for k, v in self._hits.items() if not v or now - v[-1] > WINDOW_SECONDS]:
                    del self._hits[k]
            return True

    def __len__(self) -> int:
        return len(self._hits)

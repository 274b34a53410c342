"""Per-client rate limiting (a sliding one-minute window), shared by the web API and Telegram."""
from __future__ import annotations

import threading
import time
from collections import deque


class RateLimiter:
    """Sliding one-minute window per client key."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._hits: dict[str, deque] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Record a request from `key`; False when over the limit."""
        if self.per_minute <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            q = self._hits.setdefault(key, deque())
            while q and now - q[0] > 60:
                q.popleft()
            if len(q) >= self.per_minute:
                return False
            q.append(now)
            if len(self._hits) > 50_000:  # forget idle clients
                for k in [k for k, v in self._hits.items() if not v or now - v[-1] > 60]:
                    del self._hits[k]
            return True

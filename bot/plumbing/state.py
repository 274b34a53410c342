"""A worker's mutable state — conversations, rate limits, Telegram chat state — in-process or in Redis.

`build_state(settings)` gives the in-process `State` (the default: nothing is shared between workers)
or, when KHABAR_REDIS_URL is set, a `RedisState` that every worker shares. Redis being down or slow never
fails a request: each call has a short socket timeout, and after a failure the worker uses its
in-process fallback (no history, its own rate limiter) for `redis_retry_seconds`, then tries again.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from bot.errors import StateConfigError
from bot.plumbing.conversation import Conversations, Turn, bound_turn, bound_turns
from bot.plumbing.ratelimit import WINDOW_SECONDS, RateLimiter
from bot.settings import Settings

log = logging.getLogger(__name__)


class ConversationStore(Protocol):
    """Recent turns per conversation id (in-process `Conversations` or `RedisConversations`)."""

    def history(self, cid: str | None) -> list[Turn]:
        """The kept turns of `cid`, oldest first."""

    def add(self, cid: str | None, question: str, answer: str) -> None:
        """Remember one turn."""

    def reset(self, cid: str | None) -> None:
        """Forget the conversation."""


class Limiter(Protocol):
    """A per-key rate limit (in-process `RateLimiter` or `RedisRateLimiter`)."""

    def allow(self, key: str) -> bool:
        """True when `key` may act now (and counts this act)."""


class ValueStore(Protocol):
    """Small expiring string values (in-process `Values` or `RedisValues`)."""

    def get(self, key: str) -> str | None:
        """The value of `key`, None when missing or expired."""

    def set(self, key: str, value: str) -> None:
        """Store `value` under `key`."""


class Values:
    """Small string values with a time to live, in-process, bounded in count (oldest evicted)."""

    backend = "memory"

    def __init__(self, ttl_seconds: float, max_items: int = 10_000):
        self.ttl, self.max_items = ttl_seconds, max_items
        self._data: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        """The value of `key`, None when missing or expired."""
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            if time.monotonic() > item[0]:
                del self._data[key]
                return None
            return item[1]

    def set(self, key: str, value: str) -> None:
        """Store `value` under `key` for the TTL."""
        with self._lock:
            self._data.pop(key, None)
            self._data[key] = (time.monotonic() + self.ttl, value)
            while len(self._data) > self.max_items:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


class State:
    """In-process state: each worker keeps its own conversations, rate limits and chat state."""

    backend = "memory"

    def __init__(self, settings: Settings):
        self.settings = settings
        self._conversations: dict[str, ConversationStore] = {}
        self._lock = threading.Lock()

    def conversations(self, channel: str) -> ConversationStore:
        """The conversation histories of one channel ("web", "telegram"), kept apart from the others."""
        with self._lock:
            if channel not in self._conversations:
                s = self.settings
                self._conversations[channel] = Conversations(s.history_turns, s.history_chars,
                                                             s.max_conversations, s.history_ttl_seconds)
            return self._conversations[channel]

    def limiter(self, name: str, per_minute: int) -> Limiter:
        """A rate limiter named `name` (one window per name and client key)."""
        return RateLimiter(per_minute)

    def values(self, name: str, ttl_seconds: float, max_items: int = 10_000) -> ValueStore:
        """A named table of small values with a TTL (and, in-process, at most `max_items`)."""
        return Values(ttl_seconds, max_items)

    def status(self) -> str:
        """"memory", "redis" or "redis-unreachable" (for health checks)."""
        return self.backend

    def close(self) -> None:
        """Release connections (nothing to do in-process)."""


class StateUnavailable(Exception):
    """Redis is down or too slow; the caller uses its in-process fallback."""


class RedisLink:
    """One Redis client shared by a worker, with short timeouts and a circuit breaker."""

    def __init__(self, settings: Settings):
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:
            raise StateConfigError("pip install redis") from exc

        self._errors = (redis.RedisError, OSError)
        self.prefix = settings.redis_prefix
        self.retry_seconds = settings.redis_retry_seconds
        parts = urlsplit(settings.redis_url or "")
        self.where = f"{parts.hostname or '?'}:{parts.port or 6379}"  # never the password
        try:
            self.client = redis.Redis.from_url(
                settings.redis_url or "", socket_timeout=settings.redis_timeout,
                socket_connect_timeout=settings.redis_timeout, retry=Retry(NoBackoff(), 0),
                health_check_interval=0, decode_responses=True)
        except ValueError as exc:
            raise StateConfigError(self.where) from exc
        self._down_until = 0.0
        self._down = False
        self._lock = threading.Lock()

    @property
    def up(self) -> bool:
        """False while the circuit is open after a failure."""
        return not self._down

    def call(self, what: str, fn: Callable[[Any], Any]) -> Any:
        """Run `fn(client)`; raises StateUnavailable when Redis failed just now or recently."""
        if self._down and time.monotonic() < self._down_until:
            raise StateUnavailable(what)
        try:
            result = fn(self.client)
        except self._errors as exc:
            with self._lock:
                self._down_until = time.monotonic() + self.retry_seconds
                if not self._down:
                    log.warning("Redis at %s failed while %s (%s: %s); using in-process state, retrying "
                                "every %.0f s", self.where, what, type(exc).__name__, exc, self.retry_seconds)
                self._down = True
            raise StateUnavailable(what) from exc
        if self._down:
            with self._lock:
                if self._down:
                    log.warning("Redis at %s is back; shared state resumed", self.where)
                self._down = False
        return result

    def key(self, *parts: str) -> str:
        """A namespaced key."""
        return self.prefix + ":".join(parts)


# Appends a turn ("<chars>\t<json>") and trims the list to ARGV[2] turns and ARGV[3] characters
# atomically, so two workers adding to one conversation never lose the bounds.
_ADD_TURN = """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
local items = redis.call('LRANGE', KEYS[1], 0, -1)
local total = 0
for _, v in ipairs(items) do total = total + tonumber(string.match(v, '^(%d+)\\t')) end
local drop = 0
while total > tonumber(ARGV[3]) and drop < #items - 1 do
  drop = drop + 1
  total = total - tonumber(string.match(items[drop], '^(%d+)\\t'))
end
if drop > 0 then redis.call('LTRIM', KEYS[1], drop, -1) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return #items - drop
"""

# A sliding window log: one sorted-set member per granted request, scored by Redis's own clock
# (so workers with skewed clocks agree).
_ALLOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


class RedisConversations:
    """Conversation histories in a Redis list per conversation; no history while Redis is down."""

    backend = "redis"

    def __init__(self, link: RedisLink, channel: str, turns: int, chars: int, ttl_seconds: float):
        self.link, self.channel = link, channel
        self.turns, self.chars, self.ttl = turns, chars, ttl_seconds
        self._add = link.client.register_script(_ADD_TURN)

    def history(self, cid: str | None) -> list[Turn]:
        """The bounded history of `cid`; empty when unknown or Redis is unreachable."""
        if not cid:
            return []
        try:
            items = self.link.call("reading a conversation",
                                   lambda r: r.lrange(self.link.key("conv", self.channel, cid), 0, -1))
        except StateUnavailable:
            return []
        turns = []
        for item in items:
            try:
                q, a = json.loads(item.split("\t", 1)[1])
                turns.append((str(q), str(a)))
            except (ValueError, IndexError, TypeError):
                log.warning("skipping a malformed conversation turn in Redis (%s)", cid)
        return bound_turns(turns, self.turns, self.chars)

    def add(self, cid: str | None, question: str, answer: str) -> None:
        """Append a turn (dropped, with the warning already logged, while Redis is unreachable)."""
        if not cid:
            return
        q, a = bound_turn(question, answer, self.chars)
        item = f"{len(q) + len(a)}\t{json.dumps([q, a], ensure_ascii=False)}"
        key = self.link.key("conv", self.channel, cid)
        try:
            self.link.call("saving a conversation", lambda r: self._add(
                keys=[key], args=[item, self.turns, self.chars, int(self.ttl * 1000)], client=r))
        except StateUnavailable:
            pass

    def reset(self, cid: str | None) -> None:
        """Forget a conversation."""
        if not cid:
            return
        try:
            self.link.call("forgetting a conversation",
                           lambda r: r.delete(self.link.key("conv", self.channel, cid)))
        except StateUnavailable:
            pass


class RedisRateLimiter:
    """A sliding one-minute window shared by every worker; this process's own limiter while Redis is
    unreachable (each worker then grants the full rate, as without Redis)."""

    backend = "redis"

    def __init__(self, link: RedisLink, name: str, per_minute: int):
        self.link, self.name, self.per_minute = link, name, per_minute
        self.fallback = RateLimiter(per_minute)
        self._allow = link.client.register_script(_ALLOW)

    def allow(self, key: str) -> bool:
        """Record a request from `key`; False when over the limit."""
        if self.per_minute <= 0:
            return True
        rkey = self.link.key("rate", self.name, key)
        try:
            return bool(self.link.call("checking a rate limit", lambda r: self._allow(
                keys=[rkey], args=[self.per_minute, int(WINDOW_SECONDS * 1000), uuid.uuid4().hex], client=r)))
        except StateUnavailable:
            return self.fallback.allow(key)


class RedisValues:
    """Small values with a TTL in Redis, also kept in a bounded in-process table that answers while
    Redis is unreachable (and for values written during an outage)."""

    backend = "redis"

    def __init__(self, link: RedisLink, name: str, ttl_seconds: float, max_items: int):
        self.link, self.name, self.ttl = link, name, ttl_seconds
        self.local = Values(ttl_seconds, max_items)

    def get(self, key: str) -> str | None:
        """The shared value, else this process's copy."""
        try:
            value = self.link.call("reading state", lambda r: r.get(self.link.key(self.name, key)))
        except StateUnavailable:
            value = None
        return value if value is not None else self.local.get(key)

    def set(self, key: str, value: str) -> None:
        """Store `value` for the TTL, in Redis and locally."""
        self.local.set(key, value)
        try:
            self.link.call("saving state", lambda r: r.set(self.link.key(self.name, key), value,
                                                           px=max(1, int(self.ttl * 1000))))
        except StateUnavailable:
            pass


class RedisState(State):
    """State shared by every worker through one Redis (KHABAR_REDIS_URL)."""

    backend = "redis"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.link = RedisLink(settings)

    def conversations(self, channel: str) -> ConversationStore:
        with self._lock:
            if channel not in self._conversations:
                s = self.settings
                self._conversations[channel] = RedisConversations(self.link, channel, s.history_turns,
                                                                  s.history_chars, s.history_ttl_seconds)
            return self._conversations[channel]

    def limiter(self, name: str, per_minute: int) -> Limiter:
        return RedisRateLimiter(self.link, name, per_minute)

    def values(self, name: str, ttl_seconds: float, max_items: int = 10_000) -> ValueStore:
        return RedisValues(self.link, name, ttl_seconds, max_items)

    def status(self) -> str:
        return "redis" if self.link.up else "redis-unreachable"

    def close(self) -> None:
        self.link.client.close()


def build_state(settings: Settings) -> State:
    """Redis-backed state when KHABAR_REDIS_URL is set, else in-process; nothing connects yet."""
    if settings.redis_url:
        log.info("shared state in Redis")
        return RedisState(settings)
    return State(settings)

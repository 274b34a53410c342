"""Worker state: the bounded in-process default, and Redis shared between workers (a real
redis-server), including Redis going down, freezing and coming back."""
import logging
import time

import pytest

from bot.errors import StateConfigError
from bot.plumbing.conversation import Conversations
from bot.plumbing.ratelimit import RateLimiter
from bot.plumbing.state import RedisState, State, Values, build_state
from bot.settings import Settings

from .redis_server import RedisServer, redis_server, require_redis  # noqa: F401 - fixture


def settings(tmp_path, **kw) -> Settings:
    return Settings(data_dir=tmp_path, **kw)


# ---- in-process ------------------------------------------------------------------------------------
def test_conversations_are_bounded_in_turns_characters_count_and_age():
    conv = Conversations(turns=3, chars=100, max_conversations=2, ttl_seconds=2.0)  # no pause expires it early
    for i in range(5):
        conv.add("a", f"q{i}", f"answer {i}")
    assert [q for q, _ in conv.history("a")] == ["q2", "q3", "q4"]
    conv.add("a", "long", "x" * 80)  # 4 + 80 characters: only this turn and one 10-character turn fit
    assert [q for q, _ in conv.history("a")] == ["q4", "long"]
    conv.add("a", "q" * 30, "y" * 500)  # one turn alone is cut to the character bound
    (q, a), = conv.history("a")
    assert len(q) + len(a) == 100 and q == "q" * 30
    conv.add("b", "q", "a")
    conv.add("c", "q", "a")  # a third conversation evicts the least recently used one
    assert conv.history("a") == [] and len(conv) == 2
    assert conv.history(None) == [] and conv.history("") == []
    conv.add(None, "q", "a")
    assert len(conv) == 2
    conv.reset("b")
    assert conv.history("b") == []
    time.sleep(2.1)
    assert conv.history("c") == []  # idle past the TTL
    conv.add("c", "fresh", "a")
    assert [q for q, _ in conv.history("c")] == ["fresh"]


def test_rate_limiter_and_values_in_process():
    lim = RateLimiter(3)
    assert [lim.allow("ip1") for _ in range(4)] == [True, True, True, False]
    assert lim.allow("ip2")
    assert all(RateLimiter(0).allow("x") for _ in range(100))
    vals = Values(ttl_seconds=2.0, max_items=3)
    for i in range(5):
        vals.set(f"k{i}", str(i))
    assert len(vals) == 3 and vals.get("k0") is None and vals.get("k4") == "4"
    time.sleep(2.1)
    assert vals.get("k4") is None


def test_default_state_is_in_process_and_per_worker(tmp_path):
    s = settings(tmp_path, history_turns=2, max_conversations=5)
    a, b = build_state(s), build_state(s)
    assert type(a) is State and a.status() == "memory"
    a.conversations("web").add("c1", "Why were schools closed in Tehran?", "Air pollution.")
    assert a.conversations("web").history("c1") and b.conversations("web").history("c1") == []
    assert a.conversations("telegram").history("c1") == []  # channels never see each other's histories
    assert a.conversations("web").max_conversations == 5


def test_a_malformed_redis_url_is_a_clear_error(tmp_path):
    with pytest.raises(StateConfigError) as exc:
        build_state(settings(tmp_path, redis_url="localhost:6379"))
    assert "redis://" in exc.value.message("en") and "redis://" in exc.value.message("fa")


# ---- Redis -----------------------------------------------------------------------------------------
def test_redis_state_is_shared_bounded_and_every_key_expires(tmp_path, redis_server):
    s = settings(tmp_path, redis_url=redis_server.url, history_turns=3, history_chars=200, redis_timeout=2.0)
    one, two = build_state(s), build_state(s)  # two workers
    assert isinstance(one, RedisState) and one.status() == "redis"
    conv1, conv2 = one.conversations("web"), two.conversations("web")
    conv1.add("c1", "چرا مدارس تهران تعطیل شد؟", "به دلیل آلودگی هوا.")
    assert conv2.history("c1") == [("چرا مدارس تهران تعطیل شد؟", "به دلیل آلودگی هوا.")]
    assert two.conversations("telegram").history("c1") == []
    for i in range(5):
        (conv1 if i % 2 else conv2).add("c1", f"q{i}", f"a{i}")
    assert [q for q, _ in conv1.history("c1")] == ["q2", "q3", "q4"]
    conv1.add("c1", "long", "x" * 195)  # 199 characters: only this turn fits the 200-character bound
    assert [q for q, _ in conv2.history("c1")] == ["long"]
    conv2.add("c1", "big", "z" * 1000)
    (q, a), = conv1.history("c1")
    assert q == "big" and len(q) + len(a) == 200
    conv1.reset("c1")
    assert conv2.history("c1") == []
    conv1.add("c2", "q", "a")

    web1, web2 = one.limiter("web", 3), two.limiter("web", 3)
    assert [web1.allow("1.2.3.4"), web2.allow("1.2.3.4"), web1.allow("1.2.3.4"), web2.allow("1.2.3.4")] == \
        [True, True, True, False]
    assert one.limiter("telegram", 3).allow("1.2.3.4")  # another limiter, another window

    langs1, langs2 = one.values("tg-lang", 3600), two.values("tg-lang", 3600)
    langs1.set("100", "fa")
    assert langs2.get("100") == "fa" and langs2.get("200") is None

    r = redis_server.client()
    keys = r.keys("*")
    assert keys and all(k.startswith("khabar:") for k in keys)
    assert all(r.pttl(k) > 0 for k in keys), {k: r.pttl(k) for k in keys}  # a TTL on every key
    assert 0 < r.ttl("khabar:conv:web:c2") <= s.history_ttl_seconds


def test_redis_down_falls_back_and_recovers_on_the_same_port(tmp_path, redis_server, caplog):
    s = settings(tmp_path, redis_url=redis_server.url, redis_retry_seconds=0.3, redis_timeout=2.0)
    state = build_state(s)
    conv, lim, vals = state.conversations("web"), state.limiter("web", 2), state.values("tg-sources", 3600)
    conv.add("c1", "Why were schools closed in Tehran?", "Air pollution.")
    vals.set("before", "kept")
    assert conv.history("c1")
    redis_server.kill()
    with caplog.at_level(logging.WARNING, logger="bot.plumbing.state"):
        assert conv.history("c1") == []  # no history, no exception
        conv.add("c1", "and then?", "…")
        assert [lim.allow("ip") for _ in range(3)] == [True, True, False]  # the per-process limiter
        vals.set("during", "local")
        assert vals.get("during") == "local" and vals.get("before") == "kept"
        assert state.status() == "redis-unreachable"
    warnings = [r for r in caplog.records if "failed while" in r.getMessage()]
    assert len(warnings) == 1 and "127.0.0.1" in warnings[0].getMessage()  # once per outage

    redis_server.start()  # back, empty (no persistence), on the same port
    time.sleep(0.35)
    with caplog.at_level(logging.WARNING, logger="bot.plumbing.state"):
        assert conv.history("c1") == []  # the first call after the retry window reaches Redis again
    assert state.status() == "redis" and any("is back" in r.getMessage() for r in caplog.records)
    conv.add("c1", "Why were schools closed in Tehran?", "Air pollution.")
    other = build_state(s).conversations("web")
    assert other.history("c1") == [("Why were schools closed in Tehran?", "Air pollution.")]


def test_a_frozen_redis_times_out_quickly(tmp_path, redis_server):
    s = settings(tmp_path, redis_url=redis_server.url, redis_timeout=0.2, redis_retry_seconds=60)
    state = build_state(s)
    conv = state.conversations("web")
    conv.add("c1", "q", "a")
    redis_server.pause()
    try:
        t = time.perf_counter()
        assert conv.history("c1") == []
        assert state.limiter("web", 5).allow("ip")  # circuit open: straight to the fallback
        elapsed = time.perf_counter() - t
    finally:
        redis_server.resume()
    assert state.status() == "redis-unreachable"
    assert elapsed < 5, elapsed  # bounded by the socket timeout, not hung on a frozen server


def test_unreachable_redis_at_start_still_serves(tmp_path):
    require_redis()
    port = RedisServer().port  # nothing listens there
    state = build_state(settings(tmp_path, redis_url=f"redis://127.0.0.1:{port}/0"))
    conv = state.conversations("telegram")
    conv.add("1", "q", "a")
    assert conv.history("1") == [] and state.limiter("telegram", 1).allow("u")

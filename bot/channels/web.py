"""The web API (FastAPI): /api/ask, its SSE stream, health, the widget script and a demo page."""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Iterator
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.channels.asgi import add_guards
from bot.core.qa import QA
from bot.core.schema import Answer
from bot.errors import (
    BadRequest,
    Forbidden,
    RateLimited,
    Timeout,
    Unauthorized,
    http_error,
    http_status,
    reader_message,
)
from bot.plumbing.metrics import Metrics
from bot.plumbing.ratelimit import WINDOW_SECONDS
from bot.plumbing.state import State, build_state
from bot.settings import Settings
from index.errors import KhabarError
from index.language import detect_language

log = logging.getLogger(__name__)


class AskRequest(BaseModel):
    """Body of POST /api/ask."""

    question: str = Field(..., max_length=50_000, description="The question, in Persian or English.")
    conversation_id: str | None = Field(None, max_length=100, description="Keeps follow-ups in context.")
    lang: str | None = Field(None, pattern="^(fa|en)$", description="Answer language (default: the question's).")


def _static(name: str) -> str:
    return resources.files("bot.channels").joinpath("static", name).read_text(encoding="utf-8")


def create_app(settings: Settings, qa: QA, state: State | None = None) -> FastAPI:
    """Build the web app around one QA service; conversations and rate limits live in `state`
    (default: built from the settings — Redis when KHABAR_REDIS_URL is set, else in-process)."""
    # no /docs or /redoc: their pages load scripts from a CDN, blank on an offline laptop; the schema is
    # /openapi.json, for any OpenAPI viewer
    app = FastAPI(title="Khabar", version="0.1.0", docs_url=None, redoc_url=None,
                  description="Answers from Persian and English news articles, with cited source paragraphs.")
    origins = settings.origins()
    add_guards(app, settings, (CORSMiddleware, dict(allow_origins=origins, allow_methods=["GET", "POST"],
                                                    allow_headers=["Content-Type", "X-Khabar-Key"], max_age=600)))
    state = state or build_state(settings)
    limiter = state.limiter("web", settings.rate_limit_per_minute)
    conversations = state.conversations("web")
    metrics = Metrics(qa.stats)
    app.state.qa, app.state.conversations, app.state.metrics = qa, conversations, metrics
    app.state.khabar_state = state

    def error_response(exc: KhabarError, lang: str) -> JSONResponse:
        metrics.error(exc.code)
        # the limit is a sliding one-minute window: a minute from now it has room again, whatever came before
        headers = {"Retry-After": str(int(WINDOW_SECONDS))} if isinstance(exc, RateLimited) else None
        return JSONResponse({"error": exc.code, "message": reader_message(exc, lang)}, status_code=http_status(exc),
                            headers=headers)

    def guard(request: Request, lang: str) -> None:
        """Widget key + origin, then the per-IP rate limit."""
        if settings.widget_key:
            origin = request.headers.get("origin", "")
            key = request.headers.get("x-khabar-key", "")
            if key != settings.widget_key or ("*" not in origins and origin not in origins):
                raise Forbidden()
        client = request.client.host if request.client else "?"
        if not limiter.allow(client):
            raise RateLimited()

    def lang_of(body: AskRequest | None, request: Request) -> str:
        if body and body.lang:
            return body.lang
        if body and body.question and body.question.strip():
            return detect_language(body.question)
        return "fa" if request.headers.get("accept-language", "").startswith("fa") else "en"

    def asker_lang(request: Request) -> str:
        return "fa" if request.headers.get("accept-language", "").strip().lower().startswith("fa") else "en"

    @app.exception_handler(RequestValidationError)
    async def on_bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # the body's own lang, or its question's language, when the JSON got that far
        sent = exc.body if isinstance(exc.body, dict) else {}
        question = sent.get("question")
        lang = sent["lang"] if sent.get("lang") in ("fa", "en") else \
            detect_language(question, asker_lang(request)) if isinstance(question, str) else asker_lang(request)
        err = BadRequest(exc.errors()[0].get("msg", "") if exc.errors() else "")
        metrics.error(err.code)
        return JSONResponse({"error": err.code, "message": err.message(lang)}, status_code=err.status)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """404, 405 and the framework's other errors get the same {error, message} JSON."""
        err = http_error(exc.status_code)
        return JSONResponse({"error": err.code, "message": err.message(asker_lang(request))},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(KhabarError)
    async def on_khabar_error(request: Request, exc: KhabarError) -> JSONResponse:
        return error_response(exc, exc.lang)

    @app.post("/api/ask", summary="Answer a question with cited sources")
    async def ask(body: AskRequest, request: Request) -> JSONResponse:
        lang = lang_of(body, request)
        try:
            await asyncio.to_thread(guard, request, lang)  # may ask Redis: off the event loop
            history = await asyncio.to_thread(conversations.history, body.conversation_id)
            t0 = time.perf_counter()
            ans: Answer = await asyncio.wait_for(
                asyncio.to_thread(qa.answer, body.question, history, body.lang),
                timeout=settings.request_timeout)
        except TimeoutError:
            return error_response(Timeout(), lang)
        except KhabarError as exc:
            return error_response(exc, lang)
        await asyncio.to_thread(conversations.add, body.conversation_id,
                                ans.standalone_question or ans.question, ans.answer)
        metrics.answered(ans.language, ans.mode, ans.refused, time.perf_counter() - t0)
        return JSONResponse(ans.to_json())

    @app.post("/api/ask/stream", summary="Answer over Server-Sent Events: chunk events, then the answer")
    async def ask_stream(body: AskRequest, request: Request) -> Response:
        lang = lang_of(body, request)
        try:
            await asyncio.to_thread(guard, request, lang)  # may ask Redis: off the event loop
        except KhabarError as exc:
            return error_response(exc, lang)
        history = await asyncio.to_thread(conversations.history, body.conversation_id)

        def events() -> Iterator[str]:
            t0 = time.perf_counter()
            try:
                for item in qa.stream_answer(body.question, history, body.lang):
                    if isinstance(item, Answer):
                        conversations.add(body.conversation_id, item.standalone_question or item.question,
                                          item.answer)
                        metrics.answered(item.language, item.mode, item.refused, time.perf_counter() - t0)
                        yield _sse("answer", item.to_json())
                    else:
                        yield _sse("chunk", {"text": item})
            except KhabarError as exc:
                metrics.error(exc.code)
                yield _sse("error", {"error": exc.code, "message": reader_message(exc, lang)})
            except Exception:  # noqa: BLE001 - the stream must end with a message, not a cut
                log.exception("stream failed")
                metrics.error("internal")
                yield _sse("error", {"error": "internal", "message": KhabarError().message(lang)})

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/api/health", summary="Index size, embedder and LLM mode")
    async def health() -> JSONResponse:
        stats = await asyncio.to_thread(qa.stats)
        # "empty": up, but nothing to answer from yet (readers are told the archive is not available)
        return JSONResponse({"status": "ok" if stats.get("articles") else "empty", **stats, "state": state.status()})

    @app.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus(request: Request) -> Response:
        if settings.metrics_token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {settings.metrics_token}".encode()):
                err = Unauthorized()
                return JSONResponse({"error": err.code, "message": err.message(asker_lang(request))},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
        body, ctype = metrics.render()
        return Response(body, media_type=ctype)

    @app.get("/widget.js", include_in_schema=False)
    async def widget() -> Response:
        return Response(_static("widget.js"), media_type="application/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=300"})

    @app.get("/", include_in_schema=False)
    async def demo() -> HTMLResponse:
        return HTMLResponse(_static("demo.html"))

    @app.exception_handler(Exception)
    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"error": "internal", "message": KhabarError().message(asker_lang(request))},
                            status_code=500)

    return app


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

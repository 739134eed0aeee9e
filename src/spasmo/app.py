"""The web application: the REST API under /v1, the web page under /, served by uvicorn.

    uvicorn --factory spasmo.app:create_app      # or: spasmo serve

Nothing a person writes is logged: the access log is off (``spasmo serve``), descriptions travel
only in request bodies, and errors quote the field that is wrong, never its value.

Under load (docs/performance.md): the work of a request is CPU under one interpreter lock, so the
routes that read or store sessions run on a few worker threads (``SPASMO_THREADS``, 4) rather than
anyio's 40, which only took turns at the lock, each holding a database transaction open meanwhile;
the PostgreSQL pool has as many connections. Past ``SPASMO_MAX_QUEUE`` requests in the process
(256) a new one gets 503 with Retry-After at once instead of a wait that only grows.
"""

from __future__ import annotations

import math
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import anyio.to_thread

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import __version__
from .api import MAX_BODY_BYTES, ApiError, Health, health, router
from .engine import Engine
from .interview import InterviewError
from .security import RateLimit, SecurityHeaders, rate_limit_from_env
from .session_service import SessionStore, Sessions, UnknownSessionError, default_store

__all__ = ["MAX_QUEUE_ENV", "THREADS_ENV", "QueueLimit", "create_app"]

STATIC = Path(__file__).resolve().parent / "web" / "static"
THREADS_ENV = "SPASMO_THREADS"
#: Worker threads for the routes that are not async (sessions, pages, files). The work is CPU under one
#: interpreter lock: more threads only take turns at it; a few keep the CPU busy while one waits for the database.
DEFAULT_THREADS = 4
MAX_QUEUE_ENV = "SPASMO_MAX_QUEUE"
#: Requests in the process at once before new ones get 503: at about 100 interview requests a second per
#: process, the last of 256 waits some 2.5 s.
DEFAULT_MAX_QUEUE = 256


def _setting(name: str, default: int, least: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < least:
        raise ValueError(f"{name} must be a whole number of at least {least}, not {raw!r}")
    return int(raw)


class QueueLimit:
    """Answer 503 with Retry-After at once when ``limit`` requests are already in the process (0: no limit).

    A saturated server that queues without bound makes every person wait longer and longer until clients
    time out; refusing the excess at once tells a client to come back while the others are served in time.
    /healthz is always answered, so a load balancer or a probe still sees the process alive.
    """

    def __init__(self, app: ASGIApp, limit: int = DEFAULT_MAX_QUEUE, retry_after: float = 1.0):
        self.app, self.limit, self.retry_after = app, limit, retry_after
        self.in_flight = 0  # one event loop per process: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or scope.get("path") == "/healthz":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            seconds = max(1, math.ceil(self.retry_after))
            response = JSONResponse(
                {"message": f"the server is busy; try again in {seconds} s", "errors": []},
                status_code=503, headers={"Retry-After": str(seconds)},
            )
            await response(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class BodyLimit:
    """Answer 413 to a body over ``limit`` bytes, whether it announces its length or streams it."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._reject(send)
            return
        seen = 0
        started = rejected = False

        async def counted() -> Message:
            # past the limit, answer 413 at once and tell the app the client left: FastAPI turns any
            # exception raised while it reads the body into a 400, so raising here would not do
            nonlocal seen, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit and not started:
                    rejected = True
                    await self._reject(send)
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if rejected:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            if not rejected:
                raise

    async def _reject(self, send: Send) -> None:
        response = JSONResponse(
            {"message": f"the request body is over {self.limit} bytes; send a shorter description", "errors": []},
            status_code=413,
        )
        await response({"type": "http"}, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


def _error(status: int, message: str, errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    return JSONResponse({"message": message, "errors": errors or []}, status_code=status)


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body",)) or "body"


def create_app(engine: Engine | None = None, store: SessionStore | None = None,
               rate_limit: int | None = None, threads: int | None = None, max_queue: int | None = None) -> FastAPI:
    """The whole application; ``store`` defaults to SQLite under the data folder (SPASMO_DATA_DIR);
    ``rate_limit`` is requests a minute per client (default SPASMO_RATE_LIMIT, else 300; 0 for none);
    ``threads`` the worker threads (SPASMO_THREADS, else 4); ``max_queue`` the requests in the process
    past which new ones get 503 (SPASMO_MAX_QUEUE, else 256; 0 for no limit)."""
    engine = engine or Engine()
    threads = _setting(THREADS_ENV, DEFAULT_THREADS, 1) if threads is None else threads
    max_queue = _setting(MAX_QUEUE_ENV, DEFAULT_MAX_QUEUE, 0) if max_queue is None else max_queue

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load from a CDN: these are served from here (api_docs.py)
        redoc_url=None,
        title="spasmo",
        version=__version__,
        description="Make sense of muscle spasms and cramps, in English and Italian: triage, likely causes, "
        "advice, with sources; FHIR R4 output. spasmo informs and triages; it does not diagnose or prescribe.",
    )
    app.state.engine = engine
    app.state.sessions = Sessions(engine, store or default_store(connections=threads))

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.message)

    @app.exception_handler(UnknownSessionError)
    async def unknown_session(_: Request, exc: UnknownSessionError) -> JSONResponse:
        return _error(404, f"{exc}; start a new one with POST /v1/interviews")

    @app.exception_handler(InterviewError)
    async def interview_error(_: Request, exc: InterviewError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # the input itself is left out of the answer: it may be what the person wrote
        errors = [{"field": _field(tuple(e.get("loc", ()))), "problem": e.get("msg", "")} for e in exc.errors()]
        message = "; ".join(f"{e['field']}: {e['problem']}" for e in errors) or "invalid request"
        return _error(422, f"fix the request: {message}", errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        hints = {404: "no such page; the API is under /v1 (see /docs)", 405: "this method is not allowed here (see /docs)"}
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code not in hints else hints.get(
            exc.status_code, str(exc.detail))
        return _error(exc.status_code, message)

    app.include_router(router)
    app.add_api_route("/healthz", health, methods=["GET"], response_model=Health, tags=["health"],
                      summary="Is the server up, with its knowledge base loaded")

    from .api_docs import router as docs_router  # noqa: PLC0415
    from .web import router as web_router  # noqa: PLC0415 - the page needs the API's pieces first

    app.include_router(docs_router)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit)
    app.add_middleware(QueueLimit, limit=max_queue)
    app.add_middleware(RateLimit, per_minute=rate_limit_from_env() if rate_limit is None else rate_limit)
    app.add_middleware(SecurityHeaders)  # added last, so outermost: 413 and 429 carry the headers too
    return app

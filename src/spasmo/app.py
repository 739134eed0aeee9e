"""The web application: the REST API under /v1, the web page under /, served by uvicorn.

    uvicorn --factory spasmo.app:create_app      # or: spasmo serve

Nothing a person writes is logged: the access log is off (``spasmo serve``), descriptions travel
only in request bodies, and errors quote the field that is wrong, never its value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
from .session_service import SessionStore, Sessions, UnknownSessionError

__all__ = ["create_app"]

STATIC = Path(__file__).resolve().parent / "web" / "static"


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
               rate_limit: int | None = None) -> FastAPI:
    """The whole application; ``store`` defaults to SQLite under the data folder (SPASMO_DATA_DIR);
    ``rate_limit`` is requests a minute per client (default SPASMO_RATE_LIMIT, else 300; 0 for none)."""
    engine = engine or Engine()
    app = FastAPI(
        title="spasmo",
        version=__version__,
        description="Make sense of muscle spasms and cramps, in English and Italian: triage, likely causes, "
        "advice, with sources; FHIR R4 output. spasmo informs and triages; it does not diagnose or prescribe.",
    )
    app.state.engine = engine
    app.state.sessions = Sessions(engine, store)

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

    from .web import router as web_router  # noqa: PLC0415 - the page needs the API's pieces first

    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit)
    app.add_middleware(RateLimit, per_minute=rate_limit_from_env() if rate_limit is None else rate_limit)
    app.add_middleware(SecurityHeaders)  # added last, so outermost: 413 and 429 carry the headers too
    return app

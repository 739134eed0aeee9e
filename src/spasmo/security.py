"""Two ASGI middlewares that guard every response: security headers, and a per-client rate limit.

The threat model and the test that shows each point are in docs/security.md.
"""

from __future__ import annotations

import math
import os
import time
from typing import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "DOCS_CSP", "RATE_LIMIT_ENV", "RateLimit", "SecurityHeaders", "rate_limit_from_env"]

#: The page's policy: scripts, styles and images only from this server, no inline script, no plugins,
#: forms post only here, and no other site may frame the page (clickjacking).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: /redoc (ReDoc, served from here with the rest of the API's documentation: api_docs.py) takes everything from
#: this server and runs no inline script either; it differs from the page's policy only in inline styles
#: (ReDoc styles its elements as it draws them) and the search worker it starts from a blob: URL. It shows
#: no one's data. /docs (Swagger UI) needs nothing beyond the page's policy, and gets it.
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")
_DOCS_PATHS = ("/redoc",)

_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",  # a session id in a URL must not leak to a source's site
    b"x-frame-options": b"DENY",  # frame-ancestors for browsers that predate it
    b"cross-origin-opener-policy": b"same-origin",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), payment=()",
}

RATE_LIMIT_ENV = "SPASMO_RATE_LIMIT"
#: Requests per minute from one client address: a person answering questions makes a few a minute,
#: a page view about three (the page, its style sheet, htmx), so this leaves a wide margin.
DEFAULT_RATE_LIMIT = 300


class SecurityHeaders:
    """Add the security headers to every HTTP response, errors included (it wraps everything else)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        csp = DOCS_CSP if path in _DOCS_PATHS else CSP

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _HEADERS
                           and k.lower() != b"content-security-policy"]
                headers += list(_HEADERS.items()) + [(b"content-security-policy", csp.encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, add_headers)


def rate_limit_from_env() -> int:
    """SPASMO_RATE_LIMIT requests per minute per client (0 turns the limit off), else the default."""
    raw = os.environ.get(RATE_LIMIT_ENV, "").strip()
    if not raw:
        return DEFAULT_RATE_LIMIT
    if not raw.isdigit():
        raise ValueError(f"{RATE_LIMIT_ENV} must be a whole number of requests per minute (0 for no limit)")
    return int(raw)


class RateLimit:
    """A token bucket per client address: ``per_minute`` requests in a burst, refilled at that rate.

    Past it the client gets 429 with a JSON message and Retry-After. The address is the one uvicorn
    reports (behind a proxy, run uvicorn with --proxy-headers so it is the person's, not the proxy's).
    """

    #: above this many tracked clients, the ones with full buckets are forgotten (bounded memory)
    MAX_CLIENTS = 10_000

    def __init__(self, app: ASGIApp, per_minute: int = DEFAULT_RATE_LIMIT,
                 clock: Callable[[], float] = time.monotonic):
        self.app, self.per_minute, self.clock = app, per_minute, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)

    def _take(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        now, rate = self.clock(), self.per_minute / 60.0
        tokens, then = self._buckets.get(client, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - then) * rate)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > self.MAX_CLIENTS:
                self._forget(now, rate)
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1.0 - tokens) / rate

    def _forget(self, now: float, rate: float) -> None:
        for key, (tokens, then) in list(self._buckets.items()):
            if tokens + (now - then) * rate >= self.per_minute:
                del self._buckets[key]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.per_minute <= 0:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self._take(client[0] if client else "unknown")
        if not wait:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        response = JSONResponse(
            {"message": f"too many requests: the limit is {self.per_minute} a minute from one address; "
                        f"try again in {seconds} s", "errors": []},
            status_code=429, headers={"Retry-After": str(seconds)},
        )
        await response(scope, receive, send)

"""Security: headers on every response, the rate limit, the body limit on every route, unguessable ids.

docs/security.md names the threat each test answers.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from spasmo import storage
from spasmo.api import MAX_BODY_BYTES
from spasmo.app import create_app
from spasmo.security import CSP, DOCS_CSP, RATE_LIMIT_ENV, RateLimit, rate_limit_from_env
from spasmo.session_service import SQLiteSessions
from spasmo.web import router as web_router

from .conftest import ROOT

TEMPLATES = ROOT / "src" / "spasmo" / "web" / "templates"
CALF = "I get a sudden painful cramp in my calf at night; stretching helps"


@pytest.fixture(scope="module")
def app(engine, tmp_path_factory):
    return create_app(engine, SQLiteSessions(tmp_path_factory.mktemp("security") / "s.sqlite"), rate_limit=0)


@pytest.fixture(scope="module")
def client(app) -> TestClient:
    return TestClient(app)


def _assert_security_headers(response) -> None:
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"


def test_every_kind_of_response_carries_the_security_headers(client):
    started = client.post("/v1/interviews", json={"text": CALF})
    session_id = started.json()["id"]
    responses = [
        client.get("/"),  # a page
        client.get("/static/style.css"),  # a static file
        client.get("/healthz"),
        started,  # 201 JSON
        client.get(f"/v1/interviews/{session_id}/fhir"),
        client.post("/start", data={"text": CALF}, follow_redirects=False),  # 303
        client.get("/i/nosuchsession/result"),  # the page's 404
        client.get("/v1/interviews/0123456789abcdef0123456789abcdef"),  # the API's 404
        client.post("/v1/assess", json={"text": 3}),  # 422
        client.post("/v1/assess", content=b"x" * (MAX_BODY_BYTES + 1),
                    headers={"content-type": "application/json"}),  # 413
    ]
    assert {r.status_code for r in responses} >= {200, 201, 303, 404, 413, 422}
    for response in responses:
        _assert_security_headers(response)


def test_the_429_answer_carries_the_security_headers_too(engine, tmp_path):
    client = TestClient(create_app(engine, SQLiteSessions(tmp_path / "s.sqlite"), rate_limit=1))
    client.get("/healthz")
    refused = client.get("/healthz")
    assert refused.status_code == 429
    _assert_security_headers(refused)


def test_templates_hold_no_inline_script_handler_or_style():
    for template in TEMPLATES.glob("*.html"):
        html = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, f"{template.name}: an inline <script> (move it to static/)"
        assert not re.search(r"\son[a-z]+\s*=", html), f"{template.name}: an inline event handler"
        assert not re.search(r"\sstyle\s*=", html), f"{template.name}: a style attribute (the CSP forbids it)"
        assert "javascript:" not in html, template.name


def test_the_api_documentation_is_served_from_here_under_a_policy_that_names_no_other_host(client):
    docs, redoc, page = (client.get(path) for path in ("/docs", "/redoc", "/"))
    assert docs.headers["content-security-policy"] == page.headers["content-security-policy"] == CSP
    assert redoc.headers["content-security-policy"] == DOCS_CSP  # ReDoc alone: inline styles and a blob: worker
    for response in (docs, redoc):
        policy = response.headers["content-security-policy"]
        assert "http" not in policy and "'unsafe-eval'" not in policy and "frame-ancestors 'none'" in policy
        assert "script-src 'self';" in policy  # no inline script on either page
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", response.text):
            assert "//" not in tag, tag  # every script and style sheet comes from /static
        assert not re.search(r"<script\b[^>]*>[^<]", response.text), "an inline script"
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-init.js", "redoc.standalone.js",
                  "swagger-ui.LICENSE.txt", "redoc.LICENSE.txt"):
        assert client.get(f"/static/{asset}").status_code == 200, asset


# -- rate limit ------------------------------------------------------------------------------------
def test_past_the_rate_limit_a_client_gets_a_clear_json_429(engine, tmp_path):
    client = TestClient(create_app(engine, SQLiteSessions(tmp_path / "s.sqlite"), rate_limit=3))
    assert [client.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
    refused = client.post("/v1/assess", json={"text": CALF})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/json"
    assert int(refused.headers["retry-after"]) >= 1
    body = refused.json()
    assert "3 a minute" in body["message"] and "try again in" in body["message"]
    assert body["errors"] == []


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _ok(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_the_limit_is_per_client_and_refills_with_time():
    clock = _Clock()
    limiter = RateLimit(_ok, per_minute=2, clock=clock)
    assert limiter._take("a") == 0 and limiter._take("a") == 0
    assert limiter._take("a") == pytest.approx(30.0)  # one request's worth comes back in 60/2 s
    assert limiter._take("b") == 0  # another address has its own allowance
    clock.now += 30.0
    assert limiter._take("a") == 0
    assert limiter._take("a") > 0


def test_the_limit_forgets_idle_clients_so_memory_stays_bounded():
    clock = _Clock()
    limiter = RateLimit(_ok, per_minute=5, clock=clock)
    limiter.MAX_CLIENTS = 10
    for n in range(10):
        limiter._take(f"client-{n}")
    clock.now += 60.0  # every bucket has refilled
    limiter._take("one-more")
    assert len(limiter._buckets) <= 2


def test_the_rate_limit_is_configurable_and_zero_turns_it_off(monkeypatch, engine, tmp_path):
    monkeypatch.setenv(RATE_LIMIT_ENV, "0")
    assert rate_limit_from_env() == 0
    client = TestClient(create_app(engine, SQLiteSessions(tmp_path / "s.sqlite")))
    assert all(client.get("/healthz").status_code == 200 for _ in range(400))
    monkeypatch.setenv(RATE_LIMIT_ENV, "many")
    with pytest.raises(ValueError, match=RATE_LIMIT_ENV):
        rate_limit_from_env()
    monkeypatch.delenv(RATE_LIMIT_ENV)
    assert rate_limit_from_env() == 300


# -- body size -------------------------------------------------------------------------------------
def _routes(app) -> list[tuple[str, str]]:
    """Every (method, path) the application answers: the API's from its OpenAPI, the page's from its router."""
    found = [(method.upper(), path) for path, operations in app.openapi()["paths"].items() for method in operations]
    found += [(method, route.path) for route in web_router.routes if isinstance(route, APIRoute)
              for method in route.methods]
    return [(method, re.sub(r"\{[^}]+\}", "0123456789abcdef0123456789abcdef", path)) for method, path in found]


def test_every_route_refuses_a_body_over_the_limit_with_413(app, client):
    routes = _routes(app)
    assert len(routes) >= 15 and ("POST", "/start") in routes
    big = b"a" * (MAX_BODY_BYTES + 1)
    for method, path in routes:
        announced = client.request(method, path, content=big, headers={"content-type": "application/json"})
        assert announced.status_code == 413, (method, path, announced.status_code)
        assert "bytes" in announced.json()["message"]


def test_a_streamed_body_without_a_length_is_cut_at_the_limit_on_every_route_that_reads_one(app, client):
    def chunks():
        for _ in range(MAX_BODY_BYTES // 4096 + 2):
            yield b"b" * 4096

    session_id = client.post("/v1/interviews", json={"text": CALF}).json()["id"]
    readers = [(method.upper(), path, "application/json") for path, operations in app.openapi()["paths"].items()
               for method, operation in operations.items() if "requestBody" in operation]
    readers += [("POST", path, "application/x-www-form-urlencoded")
                for path in ("/start", "/i/{id}/understood", "/i/{id}/answer")]
    assert len(readers) >= 7
    for method, path, kind in readers:
        path = re.sub(r"\{[^}]+\}", session_id, path)
        response = client.request(method, path, content=chunks(), headers={"content-type": kind})
        assert response.status_code == 413, (method, path, response.status_code)


# -- session ids -----------------------------------------------------------------------------------
def test_session_ids_are_128_random_bits_from_secrets(monkeypatch, tmp_path):
    asked: list[int] = []
    real = storage.secrets.token_hex

    def spy(nbytes: int) -> str:
        asked.append(nbytes)
        return real(nbytes)

    monkeypatch.setattr(storage.secrets, "token_hex", spy)
    with storage.SQLiteStore(tmp_path / "s.sqlite3") as store:
        ids = [store.create("en", "text").id for _ in range(300)]
    assert asked and all(n >= 16 for n in asked)  # secrets (the OS's CSPRNG), at least 128 bits
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    # every hex digit turns up in every position across the ids: no fixed or counter-like part
    for position in range(32):
        assert len({i[position] for i in ids}) >= 12, position


def test_the_web_fallback_store_ids_are_also_128_bits(tmp_path):
    store = SQLiteSessions(tmp_path / "s.sqlite")
    ids = {store.create("text", "en") for _ in range(200)}
    assert len(ids) == 200 and all(len(i) >= 22 for i in ids)  # token_urlsafe(16): 22 characters


def test_a_guessed_or_malformed_id_finds_nothing(client):
    for guess in ("0" * 32, "1", "../../etc/passwd", "' OR 1=1 --", "a" * 64):
        response = client.get(f"/v1/interviews/{guess}")
        assert response.status_code in (404, 422), guess

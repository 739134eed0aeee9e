"""The page with its Content-Security-Policy in force, in Debian's Chromium: it asks no other host for
anything, breaks no rule of its own policy, and shows a script in a description as text without running it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from .test_web_browser import CALF_EN, TETANUS_EN, browser, describe  # noqa: F401 - browser is a fixture
from .web_server import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    running = Server(tmp_path_factory.mktemp("web-safety"))
    yield running
    running.stop()


def strict_page(browser: Browser) -> tuple[Page, list[str], list[str]]:
    """A page without bypass_csp, recording every request it makes and every console message."""
    context = browser.new_context(locale="en", extra_http_headers={"Accept-Language": "en"})
    page = context.new_page()
    page.set_default_timeout(30_000)
    requests: list[str] = []
    console: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    return page, requests, console


@pytest.mark.parametrize("text", [CALF_EN, TETANUS_EN], ids=["routine", "emergency"])
def test_a_whole_journey_requests_nothing_from_any_other_host_and_breaks_no_policy(browser, server, text):
    page, requests, console = strict_page(browser)
    describe(page, server, text)
    page.locator("button[type='submit']").first.click()
    _answer_all(page)
    expect(page).to_have_url(re.compile(r"/result$"))
    page.get_by_role("link", name=re.compile("Print")).click()
    expect(page).to_have_url(re.compile(r"print=1"))
    page.get_by_role("button", name=re.compile("Print", re.I)).wait_for()
    page.evaluate("() => { window.print = () => { window.__printed = true; }; }")
    page.get_by_role("button", name=re.compile("Print", re.I)).click()  # the handler now lives in page.js
    assert page.evaluate("() => window.__printed === true")
    assert len(requests) >= 8
    others = [url for url in requests if not url.startswith(server.url + "/")]
    assert others == [], others
    assert any(url.endswith("/static/htmx.min.js") for url in requests)
    violations = [line for line in console if "Content Security Policy" in line or "pageerror" in line]
    assert violations == [], violations
    page.context.close()


def _answer_all(page: Page, limit: int = 30) -> None:
    """Answer "I don't know" until the result (an emergency may reach it after the first question)."""
    for _ in range(limit):
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
        page.locator("input[value='unknown'], svg.chain").first.wait_for()
        if page.locator("svg.chain").count():
            return
        page.locator("input[value='unknown']").check()
        page.locator("button[type='submit']").first.click()
        page.wait_for_load_state()


HOSTILE = ('<script>window.__ran = "script"</script><img src="x" onerror="window.__ran = \'img\'">'
           " cramp in my calf at night")


def test_a_script_tag_in_a_description_is_shown_as_text_and_never_run(browser, server):
    page, _, console = strict_page(browser)
    describe(page, server, HOSTILE)
    page.locator("details summary").first.click()  # "what you wrote"
    quoted = page.locator("details blockquote")
    expect(quoted).to_be_visible()
    expect(quoted).to_contain_text('<script>window.__ran = "script"</script><img src="x" onerror=')
    assert page.evaluate("() => window.__ran") is None
    assert page.locator("main script, main img[src='x']").count() == 0
    assert "&lt;script&gt;" in page.content()
    page.locator("button[type='submit']").first.click()
    _answer_all(page)
    expect(page).to_have_url(re.compile(r"/result$"))
    assert page.evaluate("() => window.__ran") is None
    assert [line for line in console if "pageerror" in line] == []
    page.context.close()


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_documentation_renders_from_this_server_alone_and_breaks_no_policy(browser, server, path):
    page, requests, console = strict_page(browser)
    page.goto(server.url + path)
    if path == "/docs":  # Swagger UI: open an operation and run it against this server
        page.locator("#operations-health-health_healthz_get .opblock-summary").click()
        page.get_by_role("button", name="Try it out").click()
        page.get_by_role("button", name="Execute").click()
        expect(page.locator(".live-responses-table tr.response .response-col_status").first).to_have_text("200")
    else:  # ReDoc: the operations are drawn, and its search (a worker) finds one
        expect(page.get_by_role("heading", name="Assess a text or findings")).to_be_visible()
        page.get_by_placeholder("Search...").fill("healthz")
        expect(page.locator("[role='search'] li, [data-role='search:result']").first).to_be_visible()
    page.wait_for_timeout(500)  # let late images and workers load, had there been any
    # the worker ReDoc starts from a blob: URL is this page's own
    others = [url for url in requests if not url.startswith((server.url + "/", "blob:" + server.url + "/", "data:"))]
    assert others == [], others
    violations = [line for line in console if "Content Security Policy" in line or "pageerror" in line]
    assert violations == [], violations
    page.context.close()

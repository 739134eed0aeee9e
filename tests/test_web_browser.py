"""The web page as a person uses it: Debian's Chromium driven by Playwright against a real server.

Each journey leaves screenshots in test-artifacts/ (gitignored); every page is checked with axe-core
for serious or critical accessibility violations. `make test` installs Chromium (apt-get) and
axe-core (npm, into node_modules/); no browser is downloaded.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from .web_server import ARTIFACTS, ROOT, Server

CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

CALF_EN = "I get a sudden painful cramp in my calf at night, about twice a week. It eases when I stretch my foot."
CALF_IT = "ho i crampi ai polpacci ogni notte da un mese, passano se allungo il muscolo"
TETANUS_EN = "my jaw is locked and I can't open my mouth for two days, I stepped on a rusty nail last week"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    running = Server(tmp_path_factory.mktemp("web-sessions"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Browser:
    for needed in (Path(CHROMIUM), AXE):
        if not needed.exists():
            raise RuntimeError(f"{needed} is missing: run `make test`, which installs Chromium and axe-core")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


def new_page(browser: Browser, language: str, phone: bool = False) -> Page:
    size = {"width": 390, "height": 844} if phone else {"width": 1100, "height": 900}
    # bypass_csp: axe-core is injected as an inline script, which the page's policy rightly refuses;
    # tests/test_web_safety_browser.py drives the page with the policy in force
    context = browser.new_context(locale=language, viewport=size, bypass_csp=True,
                                  extra_http_headers={"Accept-Language": f"{language};q=1.0"})
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def axe_violations(page: Page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def check(page: Page, name: str) -> None:
    """Screenshot, then no serious or critical accessibility violation."""
    shot(page, name)
    bad = axe_violations(page)
    assert not bad, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in bad]


def answer_until_result(page: Page, name: str, limit: int = 30) -> int:
    """Answer every question "I don't know" (or none) by keyboard-free clicks until the result page."""
    asked = 0
    while "/result" not in page.url and asked < limit:
        expect(page.locator("h1")).to_be_visible()
        if asked == 0:
            check(page, f"{name}-3-question")
        page.locator("input[value='unknown']").check()
        page.locator("button[type='submit']").first.click()
        page.wait_for_load_state()
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
        asked += 1
    return asked


def describe(page: Page, server: Server, text: str) -> None:
    page.goto(server.url + "/")
    page.get_by_role("textbox").fill(text)
    page.get_by_role("button").first.click()
    expect(page).to_have_url(re.compile(r"/understood$"))


@pytest.mark.parametrize(
    "language, text, heading, understood, causes",
    [("en", CALF_EN, "Describe your spasms", "What we understood", "Likely causes"),
     ("it", CALF_IT, "Descrivi i tuoi spasmi", "Cosa abbiamo capito", "Cause probabili")],
)
def test_whole_journey_in_each_language(browser, server, language, text, heading, understood, causes):
    page = new_page(browser, language)
    page.goto(server.url + "/")
    expect(page.locator("h1")).to_contain_text(heading)  # from the browser's Accept-Language
    expect(page.locator("html")).to_have_attribute("lang", language)
    check(page, f"journey-{language}-1-describe")
    describe(page, server, text)
    expect(page.locator("h1")).to_contain_text(understood)
    check(page, f"journey-{language}-2-understood")
    page.locator("button[type='submit']").first.click()
    answer_until_result(page, f"journey-{language}")
    expect(page).to_have_url(re.compile(r"/result$"))
    expect(page.locator(".banner h1")).to_be_visible()
    expect(page.get_by_role("heading", name=causes)).to_be_visible()
    expect(page.locator("svg.chain .highlighted")).to_have_count(1)
    expect(page.locator(".causes .bar").first).to_be_visible()
    expect(page.locator(".disclaimer")).to_be_visible()
    expect(page.locator("ol.sources li").first).to_be_visible()
    check(page, f"journey-{language}-4-result")
    page.get_by_role("link", name=re.compile("Print|stampare")).click()
    expect(page).to_have_url(re.compile(r"print=1"))
    page.emulate_media(media="print")
    shot(page, f"journey-{language}-5-print")
    page.context.close()


def test_language_switch_changes_the_page_and_is_remembered(browser, server):
    page = new_page(browser, "en")
    page.goto(server.url + "/")
    page.get_by_role("link", name="Italiano").click()
    expect(page.locator("h1")).to_contain_text("Descrivi")
    page.goto(server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "it")
    page.context.close()


def test_correcting_what_was_understood_changes_the_result(browser, server):
    page = new_page(browser, "en")
    describe(page, server, CALF_EN)
    night = page.get_by_role("group", name=re.compile("at night"))
    night.get_by_label(re.compile("wrong")).check()
    shot(page, "correction-1-understood")
    page.locator("button[type='submit']").first.click()
    answer_until_result(page, "correction")
    expect(page).to_have_url(re.compile(r"/result$"))
    understood = page.locator("#understood-h + ul")
    expect(understood).to_contain_text("at night or in bed: no")
    check(page, "correction-2-result")
    page.context.close()


def test_emergency_description_shows_the_emergency_banner_with_112(browser, server):
    page = new_page(browser, "en", phone=True)
    describe(page, server, TETANUS_EN)
    page.locator("button[type='submit']").first.click()
    page.wait_for_load_state()
    if "/question" in page.url:  # an emergency is shown while questions remain, too
        expect(page.locator(".banner.emergency")).to_contain_text("112")
        answer_until_result(page, "emergency")
    expect(page.locator(".banner.emergency")).to_be_visible()
    expect(page.locator(".banner.emergency h1")).to_contain_text("112")
    expect(page.get_by_role("link", name="Call 112")).to_have_attribute("href", "tel:112")
    check(page, "emergency-result-phone")
    page.context.close()


def test_going_back_a_question_asks_it_again_by_keyboard(browser, server):
    page = new_page(browser, "en")
    describe(page, server, CALF_EN)
    page.locator("button[type='submit']").first.click()
    expect(page).to_have_url(re.compile(r"/question$"))
    first = page.locator(".question").inner_text()
    page.locator("input[value='unknown']").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Next").press("Enter")
    expect(page.locator("h1")).to_contain_text("Question 2")
    page.get_by_role("button", name="Back").click()
    expect(page.locator("h1")).to_contain_text("Question 1")
    assert page.locator(".question").inner_text() == first
    shot(page, "back-question")
    page.context.close()


def test_unanswered_question_says_what_to_do(browser, server):
    page = new_page(browser, "it")
    describe(page, server, CALF_IT)
    page.locator("button[type='submit']").first.click()
    page.get_by_role("button", name="Avanti").click()
    expect(page.get_by_role("alert")).to_contain_text("Non lo so")
    check(page, "error-unanswered-it")
    page.context.close()


def test_deleting_removes_the_interview(browser, server):
    page = new_page(browser, "en")
    describe(page, server, CALF_EN)
    address = page.url.replace("/understood", "/result")
    page.goto(address)
    page.get_by_role("button", name="Delete my answers").click()
    expect(page.locator("h1")).to_contain_text("Deleted")
    page.goto(address)
    expect(page.locator("h1")).to_contain_text("Not found")
    check(page, "deleted-then-missing")
    page.context.close()

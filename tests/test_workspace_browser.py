"""The workspace in a real browser (Debian's chromium driven by Playwright) on a real server:
what a librarian does with it, from signing in to reading a campaign's result."""

from __future__ import annotations

import shutil

import pytest

from tests import workspace_support as ws

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium: apt-get install chromium (see README)"
)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def signed_in(browser, workspace, username: str, locale: str = "en-US"):
    """A new browser page, signed in as ``username``, with the browser's language ``locale``."""
    context = browser.new_context(locale=locale)
    page = context.new_page()
    page.goto(f"{workspace}/")
    assert "/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", ws.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{workspace}/")
    return page


def test_signing_in_and_switching_the_language(browser, workspace, library_warehouse):
    ws.make_account(library_warehouse["url"], "browser.librarian", "librarian")
    page = signed_in(browser, workspace, "browser.librarian", locale="zh-CN")
    assert page.locator("h1").inner_text() == "概览", "a Chinese browser gets Chinese"
    page.wait_for_selector(".plot .main-svg")  # the charts were drawn by the served plotly
    page.click("text=English")
    assert page.locator("h1").inner_text() == "Overview"
    page.reload()
    assert page.locator("h1").inner_text() == "Overview", "the choice outlives the page"
    page.click("text=中文")
    assert page.locator("h1").inner_text() == "概览"
    page.context.close()


def test_a_filter_changes_what_the_overview_counts(browser, workspace, library_warehouse):
    ws.make_account(library_warehouse["url"], "browser.filter", "librarian")
    page = signed_in(browser, workspace, "browser.filter")
    everyone = int(page.locator(".card .value").first.inner_text().replace(",", ""))
    options = page.locator("select[name=department] option")
    page.select_option("select[name=department]", options.nth(1).get_attribute("value"))
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**department=**")
    one_department = int(page.locator(".card .value").first.inner_text().replace(",", ""))
    assert 0 < one_department < everyone
    page.context.close()

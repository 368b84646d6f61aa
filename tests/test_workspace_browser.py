"""The workspace in a real browser (Debian's chromium driven by Playwright) on a real server:
what a librarian does with it, from signing in to reading a campaign's result."""

from __future__ import annotations

import shutil
from pathlib import Path

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


def test_from_an_audience_to_a_measured_campaign(browser, workspace, library_warehouse):
    """Build an audience and see its count, launch a campaign, export its contacts as outreach
    (not as a librarian, and audited), and read its result."""
    import psycopg

    url = library_warehouse["url"]
    ws.make_account(url, "browser.flow", "librarian")
    ws.make_account(url, "browser.outreach", "outreach")
    page = signed_in(browser, workspace, "browser.flow")
    page.goto(f"{workspace}/audiences/new")
    page.fill("input[name=name]", "Browser growth readers")
    page.select_option("select[name=all-0-field]", "segment")
    page.select_option("select[name=all-0-op]", "in")
    page.fill("input[name=all-0-value]", "Growth reader, Short-term reader")
    page.wait_for_function(
        "document.getElementById('live-count').textContent.match(/[1-9][0-9]* readers/)"
    )
    page.click("button[name=save]")
    page.wait_for_url("**/audiences/*")

    page.goto(f"{workspace}/campaigns")
    page.fill("input[name=name]", "Browser reading week")
    page.select_option("select[name=audience_id]", label="Browser growth readers")
    page.select_option("select[name=goal_kind]", "borrow_any")
    page.click("text=Create the campaign")
    page.wait_for_url("**/campaigns/*")
    campaign_url = page.url.split("?")[0]
    page.click("text=Launch the campaign")
    page.wait_for_load_state()
    assert "Only outreach accounts may export the contact list." in page.content()
    campaign_id = int(campaign_url.rstrip("/").rsplit("/", 1)[1])
    with psycopg.connect(url) as conn:
        contacted = conn.execute(
            "select count(*) filter (where not in_control), count(*) filter (where in_control)"
            " from workspace.campaign_members where campaign_id = %s",
            [campaign_id],
        ).fetchone()
    assert contacted[0] > 0 and contacted[1] > 0
    # A librarian posting the export anyway is refused and leaves no audit row.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = page.request.post(
        f"{campaign_url}/contacts", form={"csrf_token": token, "reason": "try"}
    )
    assert refused.status == 403
    page.context.close()

    outreach = signed_in(browser, workspace, "browser.outreach")
    outreach.goto(campaign_url)
    outreach.fill("input[name=reason]", "invitations to the spring reading week")
    with outreach.expect_download() as download:
        outreach.click("text=Download the contact list")
    rows = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    with psycopg.connect(url) as conn:
        audit = conn.execute(
            "select username, reason, row_count from workspace.audit_log"
            " where action = 'export_contacts' and (detail ->> 'campaign_id')::int = %s",
            [campaign_id],
        ).fetchall()
    assert audit == [("browser.outreach", "invitations to the spring reading week", len(rows) - 1)]
    assert 0 < len(rows) - 1 <= contacted[0]

    with psycopg.connect(url) as conn:
        from libcrm.crm import campaigns

        window_end = conn.execute(
            "select window_end from workspace.campaigns where campaign_id = %s", [campaign_id]
        ).fetchone()[0]
        campaigns.measure(conn, campaign_id, window_end)
    outreach.goto(campaign_url)
    result = outreach.locator("p.result").inner_text()
    assert "contacted" in result and "control" in result
    outreach.context.close()

"""``python -m libcrm.tooling.screenshots``: a picture of every workspace page in Chinese and
English, into docs/screenshots/, taken in Debian's chromium from the workspace running on the
configured warehouse (run it after ``make demo``)."""

from __future__ import annotations

import argparse
import shutil

from libcrm import config, db
from libcrm.tooling import bench_workspace

ACCOUNT = "screenshots"


def _pages(url: str) -> dict[str, str]:
    """Name -> path of each page, with a reader, an audience and a campaign that exist."""
    pages = {path.strip("/") or "overview": path for path in bench_workspace.PAGES}
    with db.connect(url) as conn:
        reader = conn.execute(
            "select user_key from marts.user_profiles order by loans_total desc limit 1"
        ).fetchone()
        audience = conn.execute("select max(audience_id) from workspace.audiences").fetchone()
        campaign = conn.execute("select max(campaign_id) from workspace.campaigns").fetchone()
    if reader:
        pages["reader"] = f"/readers/{reader[0]}"
    if audience and audience[0]:
        pages["audience"] = f"/audiences/{audience[0]}"
    if campaign and campaign[0]:
        pages["campaign"] = f"/campaigns/{campaign[0]}"
    pages["accounts"] = "/admin/accounts"
    pages["audit"] = "/admin/audit"
    return pages


def take(url: str, width: int = 1280) -> list[str]:
    """Take the screenshots; return the files written."""
    from playwright.sync_api import sync_playwright

    from libcrm.workspace import accounts

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise config.ConfigError("screenshots need Debian's chromium: apt-get install chromium")
    password = accounts.new_password()
    with db.connect(url) as conn:
        if conn.execute(
            "select 1 from workspace.accounts where username = %s", [ACCOUNT]
        ).fetchone():
            accounts.set_password(conn, ACCOUNT, password, "screenshots")
        else:
            accounts.create_account(conn, ACCOUNT, "admin", password, "screenshots", "Demo")
    root = config.checkout("screenshots are written into docs/screenshots/")
    out = root / "docs" / "screenshots"
    pages = _pages(url)
    port = bench_workspace.free_port()
    written = []
    with bench_workspace.served_process(url, port) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for language, locale in (("zh", "zh-CN"), ("en", "en-US")):
            page = browser.new_page(locale=locale, viewport={"width": width, "height": 900})
            page.goto(f"{base}/login")
            page.fill("input[name=username]", ACCOUNT)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            for name, path in pages.items():
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(300)  # plotly draws after the load event
                target = out / f"{name}-{language}.png"
                target.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(target), full_page=True)
                written.append(str(target.relative_to(root)))
            page.close()
        browser.close()
    return written


def main() -> int:
    argparse.ArgumentParser(
        prog="python -m libcrm.tooling.screenshots", description=__doc__
    ).parse_args()
    for path in take(config.database_url()):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

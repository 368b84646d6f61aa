"""``python -m libcrm bench-workspace``: how long each workspace page takes to render.

Starts the workspace as its own process (``python -m libcrm serve``) on the configured
warehouse, signs in over loopback HTTP as a real browser would, saves an audience of most
readers with the audience builder's form, requests every page (with and without a department
filter), the audience's page among them, ``rounds`` times one after another, archives the
audience again, and writes each page's median, 95th percentile and slowest time to
``bench/results/workspace-<scale>.json``, which docs/benchmarks.md is regenerated from.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager

import httpx

from libcrm import config, db
from libcrm.tooling import bench_report
from libcrm.workspace import accounts

BENCH_ACCOUNT = "bench.pages"
GOAL_P95_MS = 300
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = (
    "/",
    "/segments",
    "/leaders",
    "/leaderboards",
    "/events",
    "/recommendations",
    "/audiences",
    "/campaigns",
)
# The audience whose page is measured: every reader but the dormant, most of the library, so
# its page lists as many members as it ever does. Sent as the builder's form sends it.
AUDIENCE_FORM = {
    "name": "bench-workspace: every reader but the dormant",
    "exclude-0-field": "persona",
    "exclude-0-op": "eq",
    "exclude-0-value": "dormant",
}
AUDIENCE_PAGE = re.compile(r"/audiences/(\d+)$")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _account(url: str) -> str:
    password = accounts.new_password()
    with db.connect(url) as conn:
        exists = conn.execute(
            "select 1 from workspace.accounts where username = %s", [BENCH_ACCOUNT]
        ).fetchone()
        if exists:
            accounts.set_password(conn, BENCH_ACCOUNT, password, "bench-workspace")
        else:
            accounts.create_account(conn, BENCH_ACCOUNT, "librarian", password, "bench-workspace")
    return password


def _targets(url: str, audience: str) -> list[str]:
    """Every page and the ``audience`` page, each also with the largest department as
    filter, and one reader's page."""
    with db.connect(url) as conn:
        department, reader = conn.execute(
            "select (select department from marts.dim_users group by 1 order by count(*) desc"
            " limit 1), (select user_key from marts.user_profiles"
            " order by loans_total desc limit 1)"
        ).fetchone()
    pages = [*PAGES, audience]
    filtered = [f"{page}?{httpx.QueryParams({'department': department})}" for page in pages]
    return [*pages, *filtered, f"/readers/{reader}"]


@contextmanager
def saved_audience(http: httpx.Client):
    """Save the benchmark's audience as a librarian does (the builder's form, which records
    its members of the last night at once); yield its page, then archive it (its archive
    button), so that it is not evaluated every night or listed after the benchmark."""
    token = CSRF_FIELD.search(http.get("/audiences/new").text).group(1)  # the session's
    answer = http.post("/audiences/new", data={**AUDIENCE_FORM, "csrf_token": token})
    page = AUDIENCE_PAGE.fullmatch(answer.headers.get("location", ""))
    if answer.status_code != 303 or page is None:
        raise RuntimeError(f"the audience builder did not save the audience: {answer.status_code}")
    try:
        yield page.group(0)
    finally:
        http.post(f"{page.group(0)}/archive", data={"csrf_token": token})


def _wait(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the workspace process ended before answering")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the workspace did not answer /healthz within 60 s")


@contextmanager
def served_process(url: str, port: int):
    """``python -m libcrm serve`` on ``url`` and ``port`` as a process; yields its base URL."""
    env = {**os.environ, "LIBCRM_DATABASE_URL": url, "LIBCRM_WORKSPACE_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "libcrm", "serve"], env=env, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(10)


def audience_members(url: str, page: str) -> int:
    """The members the audience of ``page`` has on the last night recorded for it."""
    audience_id = int(AUDIENCE_PAGE.fullmatch(page).group(1))
    with db.connect(url) as conn:
        return conn.execute(
            "select count(*) from workspace.audience_members where audience_id = %(a)s and night"
            " = (select max(night) from workspace.audience_members where audience_id = %(a)s)",
            {"a": audience_id},
        ).fetchone()[0]


def measure(url: str, rounds: int) -> dict:
    """Render times in milliseconds per page (``pages``: median, p95, slowest, and the HTTP
    status), and the ``audience`` whose page was measured: its page, name and members."""
    password = _account(url)
    with (
        served_process(url, free_port()) as base,
        httpx.Client(base_url=base, timeout=60) as http,
    ):
        token = CSRF_FIELD.search(http.get("/login").text).group(1)
        http.post(
            "/login",
            data={"username": BENCH_ACCOUNT, "password": password, "csrf_token": token},
        )
        with saved_audience(http) as audience:
            members = audience_members(url, audience)
            print(f"  audience {audience}: {members:,} members", flush=True)
            pages = _timed(http, _targets(url, audience), rounds)
    named = {"page": audience, "name": AUDIENCE_FORM["name"], "members": members}
    return {"pages": pages, "audience": named}


def _timed(http: httpx.Client, targets: list[str], rounds: int) -> dict[str, dict]:
    results = {}
    for target in targets:
        status = http.get(target).status_code  # warm: first render compiles templates
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            http.get(target)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        results[target] = {
            "status": status,
            "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[max(0, round(0.95 * len(times)) - 1)], 1),
            "max_ms": round(times[-1], 1),
        }
        print(f"  {target:<60} p95 {results[target]['p95_ms']:7.1f} ms", flush=True)
    return results


def run(scale: str, rounds: int = 30) -> int:
    """Measure the pages on the configured warehouse; write the results and the docs page."""
    results = config.checkout("the benchmark writes bench/results/") / "bench" / "results"
    url = config.database_url()
    with db.connect(url) as conn:
        patrons = conn.execute("select count(*) from marts.dim_users").fetchone()[0]
    print(f"workspace pages on the {scale} library ({patrons:,} patrons), {rounds} rounds each")
    measured = measure(url, rounds)
    pages = measured["pages"]
    result = {
        "scale": scale,
        "patrons": patrons,
        "rounds": rounds,
        "goal_p95_ms": GOAL_P95_MS,
        **measured,
        **bench_report.measured_on(),
    }
    results.mkdir(parents=True, exist_ok=True)
    (results / f"workspace-{scale}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {results / f'workspace-{scale}.json'} and {bench_report.write(results)}")
    slow = [page for page, times in pages.items() if times["p95_ms"] > GOAL_P95_MS]
    bad = [page for page, times in pages.items() if times["status"] != 200]
    if bad:
        print(f"pages that did not answer 200: {', '.join(bad)}")
    print(f"p95 over {GOAL_P95_MS} ms: {', '.join(slow) if slow else 'none'}")
    return 1 if bad else 0

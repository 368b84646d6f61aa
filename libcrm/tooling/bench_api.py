"""``python -m libcrm bench-api``: the portal API's recommendations endpoint under a fixed
request rate, over loopback, from a process apart from the server.

The server is ``python -m libcrm serve`` started here on a free port (or one already
running, ``--base``). Requests are due at a fixed ``--rate`` per second for ``--seconds``,
each for a patron drawn at random from the served night, in both languages and kinds, and
sent over ``CONNECTIONS`` kept-alive connections; a latency counts from the moment its
request was due, so a server that falls behind is charged for the wait (no coordinated
omission). Results go to ``bench/results/api-<scale>.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

from libcrm import config, db, settings
from libcrm.api import tokens

CLIENT = "bench-api"
# Patrons drawn from: enough that caches do not make every request a repeat.
PATRON_SAMPLE = 5_000
SEED = 20
GOAL_P99_MS = 50.0
# Open connections to the server: what a portal behind a proxy keeps alive; more only makes
# the client (httpx) slower when the server lags.
CONNECTIONS = 16


@contextmanager
def _server(url: str):
    """``python -m libcrm serve`` on a free loopback port; yields its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {
        "LIBCRM_DATABASE_URL": url,
        "LIBCRM_WORKSPACE_PORT": str(port),
        "LIBCRM_WORKSPACE_HOST": "127.0.0.1",
    }
    process = subprocess.Popen([sys.executable, "-m", "libcrm", "serve"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("python -m libcrm serve did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(20)


def _patrons(url: str) -> list[str]:
    with db.connect(url) as conn:
        rows = conn.execute(
            "select distinct patron_id from portal.resource_recommendations"
        ).fetchall()
    if not rows:
        raise config.ConfigError("the warehouse has no published recommendations: run a night")
    patrons = sorted(row[0] for row in rows)
    return random.Random(SEED).sample(patrons, min(PATRON_SAMPLE, len(patrons)))  # noqa: S311


async def _load(base: str, token: str, patrons: list[str], rate: float, seconds: float) -> dict:
    pick = random.Random(SEED)  # noqa: S311 - a reproducible load, not a secret
    total = int(rate * seconds)
    requests = [
        (
            f"/api/v1/patrons/{pick.choice(patrons)}/recommendations",
            {"kind": pick.choice(["books", "events"]), "lang": pick.choice(["zh", "en"])},
        )
        for _ in range(total)
    ]
    # Every connection and the server's pool opened, and its first queries planned, untimed.
    warm = [requests[index] for index in range(min(total, CONNECTIONS * 4))]
    latencies = np.zeros(total)
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as client:
        await client.get("/api/v1/publication")
        await asyncio.gather(*(client.get(path, params=params) for path, params in warm))
        started = time.perf_counter()
        queue = iter(range(total))

        async def connection() -> None:
            # One sender per connection takes the next request on the schedule: a server that
            # falls behind makes the senders late, and the lateness counts in the latency.
            for index in queue:
                due = started + index / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                path, params = requests[index]
                try:
                    answer = await client.get(path, params=params, timeout=10)
                    status = answer.status_code
                except httpx.HTTPError:
                    status = 0
                statuses[status] = statuses.get(status, 0) + 1
                latencies[index] = time.perf_counter() - due

        await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - started
    milliseconds = latencies * 1000
    return {
        "requests": total,
        "offered_rate": rate,
        "achieved_rate": round(total / elapsed, 1),
        "connections": CONNECTIONS,
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
        "p50_ms": round(float(np.percentile(milliseconds, 50)), 1),
        "p95_ms": round(float(np.percentile(milliseconds, 95)), 1),
        "p99_ms": round(float(np.percentile(milliseconds, 99)), 1),
        "max_ms": round(float(milliseconds.max()), 1),
    }


def run(scale: str, rate: float, seconds: float, base: str | None = None) -> int:
    """Measure, print and record the endpoint's latencies; 1 when the goal is missed."""
    url = config.database_url()
    patrons = _patrons(url)
    with db.connect(url) as conn:
        token = tokens.issue(conn, CLIENT)
    try:
        if base:
            result = asyncio.run(_load(base, token, patrons, rate, seconds))
        else:
            with _server(url) as started:
                result = asyncio.run(_load(started, token, patrons, rate, seconds))
    finally:
        with db.connect(url) as conn:
            tokens.revoke(conn, CLIENT)
    result |= {
        "scale": scale,
        "patrons_sampled": len(patrons),
        "seconds": seconds,
        "goal_p99_ms": GOAL_P99_MS,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_after": [round(value, 2) for value in os.getloadavg()],
        },
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    out = settings.PROJECT_ROOT / "bench" / "results" / f"api-{scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"GET /api/v1/patrons/{{id}}/recommendations at {rate:g}/s for {seconds:g} s "
        f"({result['achieved_rate']}/s achieved): p50 {result['p50_ms']} ms, "
        f"p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms; statuses {result['statuses']}; "
        f"written to {Path(out)}"
    )
    return 0 if result["p99_ms"] <= GOAL_P99_MS and set(result["statuses"]) == {"200"} else 1

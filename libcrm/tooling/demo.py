"""``make demo``: simulate a library, run ``library_nightly`` for consecutive days, summarise."""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from urllib.parse import urlsplit

from libcrm import config, db, settings
from libcrm.tooling import demo_accounts, localdb, runtime, summary

FIRST_DAY = date(2026, 3, 16)
SEED = 42


def _step(message: str) -> None:
    print(f"==> {message}", flush=True)


def masked(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def resolve_database() -> str:
    """Use ``LIBCRM_DATABASE_URL`` when set, else start the embedded PostgreSQL."""
    url = (settings.load().database_url or "").strip()
    if url:
        _step(f"warehouse: {masked(url)} (from LIBCRM_DATABASE_URL)")
    else:
        _step("warehouse: starting the embedded PostgreSQL under .local/pg")
        url = localdb.ensure_embedded()
    try:
        with db.connect(url, connect_timeout=10):
            pass
    except Exception as error:  # noqa: BLE001 - any driver error means the same to the user
        raise config.ConfigError(
            f"cannot connect to the warehouse {masked(url)}: {error}"
        ) from None
    recorded = config.database_url_file()
    recorded.parent.mkdir(parents=True, exist_ok=True)
    recorded.write_text(url + "\n")
    recorded.chmod(0o600)
    return url


def resolve_key_file():
    """The pseudonym key file: the configured one, or a generated demo key."""
    configured = settings.load()
    if configured.pseudonym_key:
        return None
    return configured.pseudonym_key_file or config.write_key_file()


def _reach_out(
    url: str, landing, truth, scale: str, day_list: list[date], profile: str = "default"
) -> None:
    """Launch the demo campaign after the first night and simulate its readers' answers."""
    from libcrm.tooling import demo_campaign
    from libcrm.tooling.simulate import simulate

    window = (day_list[1], day_list[-1])
    launched = demo_campaign.launch(url, day_list[0], *window)
    _step(
        f"campaign {demo_campaign.CAMPAIGN_NAME!r} launched on {day_list[0]} for "
        f"{window[0]}..{window[1]}: {launched.contacted} contacted, {launched.control} in the "
        f"control group; {len(launched.cards)} cards exported as {demo_campaign.OUTREACH_USER}"
    )
    outreach = launched.outreach(*window)
    _step(f"simulating the library again with those readers contacted (from {window[0]} on)")
    simulated = simulate(
        landing,
        truth,
        scale=scale,
        first_day=day_list[0],
        days=len(day_list),
        seed=SEED,
        outreach=outreach,
        profile=profile,
    )
    print(f"    {simulated.line()}", flush=True)


def run(scale: str = "small", days: int = 3, profile: str = "default") -> int:
    """Run the demo on a ``scale`` library of the kind ``profile`` names; return the process
    exit code."""
    from libcrm.tooling.simulate import simulate
    from libcrm.tooling.simulate.profiles import resolve_profile

    try:
        resolve_profile(profile)
    except ValueError as error:
        print(f"libcrm demo: {error}", file=sys.stderr)
        return 2
    started = time.monotonic()
    # Before anything starts: the demo runs the checkout's DAG and keeps the truth beside it.
    checkout = config.checkout("the demo runs dags/library_nightly.py")
    url = resolve_database()
    key_file = resolve_key_file()
    landing = config.landing_dir()
    env = runtime.pipeline_environment(url, landing, key_file)
    env_file = runtime.write_env_file(env)

    truth = checkout / "data" / "truth.json"
    kind = "" if profile == "default" else f" {profile}"
    _step(
        f"simulating a {scale}{kind} library into {landing} ({days} nightly exports from "
        f"{FIRST_DAY})"
    )
    simulated = simulate(
        landing, truth, scale=scale, first_day=FIRST_DAY, days=days, seed=SEED, profile=profile
    )
    print(f"    {simulated.line()}", flush=True)

    _step(f"preparing Airflow home {env['AIRFLOW_HOME']} (airflow db migrate)")
    logs = config.state_dir() / "logs"
    if runtime.airflow(["db", "migrate"], env, logs / "airflow-db-migrate.log").returncode:
        print(f"airflow db migrate failed: see {logs / 'airflow-db-migrate.log'}")
        return 1

    day_list = [FIRST_DAY + timedelta(days=offset) for offset in range(days)]
    for day in day_list:
        _step(f"airflow dags test library_nightly {day}")
        day_started = time.monotonic()
        log_file = logs / f"library_nightly-{day}.log"
        done = runtime.airflow(["dags", "test", "library_nightly", day.isoformat()], env, log_file)
        states = summary.task_states(log_file)
        print(
            f"    {states}  ({time.monotonic() - day_started:.0f} s, log: {log_file})", flush=True
        )
        if done.returncode != 0 or "failed" in states:
            print(summary.failure_excerpt(log_file))
            return 1
        if day == FIRST_DAY and days > 1:
            _reach_out(url, landing, truth, scale, day_list, profile)

    print()
    print(summary.report(url, day_list[-1], masked(url), env_file, truth))
    for line in demo_accounts.lines(url):
        print(line)
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0

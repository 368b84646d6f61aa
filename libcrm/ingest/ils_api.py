"""Pull patrons, items, loans, holds and purchase requests from a FOLIO-style ILS REST API.

The adapter writes the same ``patrons.csv``, ``items.csv``, ``loans.csv``, ``holds.csv`` and
``purchase_requests.csv`` an export would into the landing folder, instead of loading ``raw``
itself: the loaders stay the single way into ``raw``, so API rows get exactly the same parsing,
quarantine, pseudonyms, audit and day-level transaction as exported files, and the landing
folder keeps a replayable copy of what the API said that night.

Paging is ``offset``/``limit`` over records sorted by id; an increment asks for records whose
``metadata.updatedDate`` falls in the day (in the library's time zone). Tenant, token renewal,
``Retry-After`` and retries are the client's (:mod:`libcrm.ingest.folio_client`). Progress is
checkpointed after every page, so a run that stops half-way resumes at the next page without
writing a record twice; the CSV appears only when the entity is complete, and ``.pulled.json``
once the whole day is. The nightly load pulls a day once: a re-run of a day whose landing copy
is complete replays it instead of asking the API again, which would no longer return the
records changed since (their ``updatedDate`` has moved on). Purchase requests
come from an endpoint FOLIO does not define (see docs/sources.md); an API without it answers
404 and the night goes on without ``purchase_requests.csv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from libcrm import config, db, settings
from libcrm.ingest.folio import ENDPOINTS, Endpoint
from libcrm.ingest.folio_client import (
    MAX_ATTEMPTS,
    EndpointMissing,
    IlsApiError,
    IlsApiRefused,
    IlsClient,
)

__all__ = ["MAX_ATTEMPTS", "EndpointMissing", "IlsApiError", "IlsApiRefused", "IlsClient"]
log = logging.getLogger(__name__)

PAGE_LIMIT = 1000  # records per page: FOLIO's documented maximum for most endpoints
LIBRARY_TIMEZONE = "Asia/Shanghai"  # export times are local; the API speaks UTC
# Written into ils/<day>/ when every collection of the day is complete: what was pulled, when.
MANIFEST = ".pulled.json"


def day_query(day: date, initial: bool, zone: ZoneInfo) -> str:
    """CQL selecting the records changed during ``day`` (or everything up to its end)."""
    start = datetime.combine(day, clock(), zone).astimezone(ZoneInfo("UTC"))
    end = start + timedelta(days=1)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    window = f'metadata.updatedDate<"{end.strftime(fmt)}"'
    if not initial:
        window = f'metadata.updatedDate>="{start.strftime(fmt)}" and {window}'
    return f"{window} sortBy id"


def _checkpoint(folder: Path, endpoint: Endpoint) -> tuple[Path, Path]:
    return folder / f".{endpoint.file_name}.partial", folder / f".{endpoint.file_name}.state"


def pull_endpoint(
    client: IlsClient,
    endpoint: Endpoint,
    folder: Path,
    query: str,
    zone: ZoneInfo,
    limit: int = PAGE_LIMIT,
) -> int:
    """Page through one collection into ``folder/<file>``; return the number of records."""
    partial, state_file = _checkpoint(folder, endpoint)
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    if state.get("query") != query or not partial.exists():
        state = {"query": query, "offset": 0, "bytes": 0}
    with partial.open("a+", encoding="utf-8", newline="") as handle:
        handle.truncate(state["bytes"])  # drop a page written after the last checkpoint
        handle.seek(0)
        seen = {row[0] for row in list(csv.reader(handle))[1:] if row}
        handle.seek(state["bytes"])
        writer = csv.writer(handle, lineterminator="\n")
        if state["bytes"] == 0:
            writer.writerow(endpoint.entity.names)
        while True:
            page = client.page(endpoint.path, query, state["offset"], limit)
            records = page.get(endpoint.array) or []
            for record in records:
                if record.get("id") not in seen:  # a record shifted by paging shows up once
                    seen.add(record.get("id"))
                    writer.writerow(endpoint.row(record, zone))
            handle.flush()
            os.fsync(handle.fileno())
            state.update(offset=state["offset"] + len(records), bytes=handle.tell())
            state_file.write_text(json.dumps(state))
            if len(records) < limit:
                break
    os.replace(partial, folder / endpoint.file_name)
    state_file.unlink()
    log.info("%s: %d records into %s", endpoint.path, len(seen), folder / endpoint.file_name)
    return len(seen)


def pull_day(
    base_url: str,
    token: str,
    day: date,
    landing: Path | None = None,
    initial: bool = False,
    client: IlsClient | None = None,
    timezone: str = LIBRARY_TIMEZONE,
    limit: int = PAGE_LIMIT,
) -> dict[str, int]:
    """Write ``ils/<day>/`` from the API: records changed that day, or all up to its end.

    Parameters
    ----------
    base_url, token : str
        The API root and its ``X-Okapi-Token``.
    day : datetime.date
        The export day (a day of the library's time zone).
    landing : pathlib.Path, optional
        Landing folder (default ``LIBCRM_LANDING_DIR``).
    initial : bool
        Fetch every record updated before the end of ``day`` (the first export).
    client : IlsClient, optional
        A configured client (timeouts, back-off); default one for ``base_url``.
    timezone : str
        The library's time zone: day boundaries and export times are local.
    limit : int
        Records per page.

    Returns
    -------
    dict
        File name -> records written; an optional collection the API does not offer is left out.
    """
    zone = ZoneInfo(timezone)
    folder = (landing or config.landing_dir()) / "ils" / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    own = client is None
    client = client or IlsClient(base_url, token)
    query = day_query(day, initial, zone)
    counts: dict[str, int] = {}
    try:
        for endpoint in ENDPOINTS:
            _pull(client, endpoint, folder, query, zone, limit, counts)
    finally:
        if own:
            client.close()
    manifest = {
        "api": client.base_url,
        "query": query,
        "pulled_at": datetime.now(ZoneInfo("UTC")).isoformat(timespec="seconds"),
        "files": counts,
    }
    written = folder / f"{MANIFEST}.partial"
    written.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(written, folder / MANIFEST)
    return counts


def landing_copy(folder: Path) -> dict | None:
    """The manifest of the complete pull that lies in ``folder`` (``api``, ``query``,
    ``pulled_at``, ``files``), or None when no complete pull does."""
    manifest = folder / MANIFEST
    if not manifest.exists():
        return None
    pulled = json.loads(manifest.read_text(encoding="utf-8"))
    missing = sorted(name for name in pulled["files"] if not (folder / name).exists())
    if missing:
        log.warning(
            "%s: %s of the pull of %s are gone: the day is pulled from the API again",
            folder,
            ", ".join(missing),
            pulled["pulled_at"],
        )
        return None
    return pulled


def _pull(
    client: IlsClient,
    endpoint: Endpoint,
    folder: Path,
    query: str,
    zone: ZoneInfo,
    limit: int,
    counts: dict[str, int],
) -> None:
    """Pull one collection into ``counts``; an optional one the API does not offer is skipped."""
    try:
        counts[endpoint.file_name] = pull_endpoint(client, endpoint, folder, query, zone, limit)
    except EndpointMissing:
        if not endpoint.optional:
            raise
        for leftover in _checkpoint(folder, endpoint):
            leftover.unlink(missing_ok=True)
        log.warning(
            "%s answers 404 for %s: %s not written (see docs/sources.md to offer it)",
            client.base_url,
            endpoint.path,
            endpoint.file_name,
        )


def configured_client() -> IlsClient:
    """A client for the API the settings name (``LIBCRM_ILS_API_URL``, tenant, credentials).

    Raises
    ------
    ConfigError
        A setting the API needs is missing: the message names it.
    """
    configured = settings.load()
    token = configured.ils_token.get_secret_value() if configured.ils_token else ""
    password = configured.ils_password.get_secret_value() if configured.ils_password else None
    missing = [
        name
        for name, value in (
            ("LIBCRM_ILS_API_URL", configured.ils_api_url),
            ("LIBCRM_ILS_TENANT", configured.ils_tenant),
            ("LIBCRM_ILS_TOKEN or LIBCRM_ILS_USERNAME", token or configured.ils_username),
            ("LIBCRM_ILS_PASSWORD", password if configured.ils_username else "not needed"),
        )
        if not value
    ]
    if missing:
        raise config.ConfigError(
            f"LIBCRM_ILS_SOURCE=api needs {', '.join(missing)}: set them, or "
            "LIBCRM_ILS_SOURCE=files to load exported files"
        )
    return IlsClient(
        configured.ils_api_url,
        token,
        tenant=configured.ils_tenant,
        username=configured.ils_username,
        password=password,
    )


def first_pull(day: date) -> bool:
    """Whether ``day`` is the first ILS day the warehouse gets (then everything up to its end
    is pulled, not only the day's changes)."""
    with db.connect() as conn:
        (loaded,) = conn.execute(
            "select exists (select 1 from raw.load_audit where source = 'ils' "
            "and status = 'loaded' and data_date < %s)",
            [day],
        ).fetchone()
    return not loaded


def pull_configured_day(day: date) -> dict[str, int]:
    """Write ``ils/<day>/`` from the API the settings name, for the nightly load; return the
    records per file.

    A day already pulled in full is replayed from its landing copy, not asked of the API again,
    so a re-run of the day loads the same rows as its first run. ``main`` (the command line)
    always asks the API, and replaces the copy the next run then replays.
    """
    folder = config.landing_dir() / "ils" / day.isoformat()
    pulled = landing_copy(folder)
    if pulled is not None:
        log.info(
            "ILS API for %s: replaying the landing copy %s pulled from %s at %s (%s) instead of "
            "asking the API again; to pull the day afresh, run python -m libcrm.ingest.ils_api "
            "--url %s --day %s, then the day again",
            day,
            folder,
            pulled["api"],
            pulled["pulled_at"],
            ", ".join(f"{name} {count}" for name, count in pulled["files"].items()),
            pulled["api"],
            day,
        )
        return pulled["files"]
    with configured_client() as client:
        return pull_day(client.base_url, "", day, initial=first_pull(day), client=client)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="API root, e.g. https://okapi.example.edu")
    parser.add_argument("--day", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--initial", action="store_true", help="everything up to the day's end")
    args = parser.parse_args(argv)
    configured = settings.load()
    token = configured.ils_token.get_secret_value() if configured.ils_token else ""
    if not token and not configured.ils_username:
        parser.error("set LIBCRM_ILS_TOKEN, or LIBCRM_ILS_USERNAME and LIBCRM_ILS_PASSWORD")
    password = configured.ils_password.get_secret_value() if configured.ils_password else None
    client = IlsClient(
        args.url,
        token,
        tenant=configured.ils_tenant,
        username=configured.ils_username,
        password=password,
    )
    with client:
        counts = pull_day(args.url, token, args.day, initial=args.initial, client=client)
    print(", ".join(f"{name} {count}" for name, count in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

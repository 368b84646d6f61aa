"""Pull patrons, items, loans, holds and purchase requests from a FOLIO-style ILS REST API.

The adapter writes the same ``patrons.csv``, ``items.csv``, ``loans.csv``, ``holds.csv`` and
``purchase_requests.csv`` an export would into the landing folder, instead of loading ``raw``
itself: the loaders stay the single way into ``raw``, so API rows get exactly the same parsing,
quarantine, pseudonyms, audit and day-level transaction as exported files, and the landing
folder keeps a replayable copy of what the API said that night.

Paging is ``offset``/``limit`` over records sorted by id; an increment asks for records whose
``metadata.updatedDate`` falls in the day (in the library's time zone). A page that fails with
a 5xx, 429, a timeout or a dropped connection is retried with exponential back-off. Progress is
checkpointed after every page, so a run that stops half-way resumes at the next page without
writing a record twice; the CSV appears only when the entity is complete. Purchase requests
come from an endpoint FOLIO does not define (see docs/sources.md); an API without it answers
404 and the night goes on without ``purchase_requests.csv``.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from libcrm import config, settings
from libcrm.ingest.folio import ENDPOINTS, Endpoint

log = logging.getLogger(__name__)

PAGE_LIMIT = 1000  # records per page: FOLIO's documented maximum for most endpoints
MAX_ATTEMPTS = 5  # tries per page before the run stops (resumable from the checkpoint)
BACKOFF_SECONDS = 0.5  # first wait after a failure; doubled after each further failure
TIMEOUT_SECONDS = 30.0  # a page slower than this is abandoned and retried
LIBRARY_TIMEZONE = "Asia/Shanghai"  # export times are local; the API speaks UTC
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
# Failures worth another try: timeouts, refused or dropped connections, truncated bodies.
TRANSIENT_ERRORS = (
    TimeoutError,
    urllib.error.URLError,
    ConnectionError,
    http.client.HTTPException,
    json.JSONDecodeError,
)


class IlsApiError(RuntimeError):
    """The ILS API refused or kept failing; the message says which request and what to do."""


class EndpointMissing(IlsApiError):
    """The API answered 404: it does not offer the collection asked for."""


def day_query(day: date, initial: bool, zone: ZoneInfo) -> str:
    """CQL selecting the records changed during ``day`` (or everything up to its end)."""
    start = datetime.combine(day, clock(), zone).astimezone(ZoneInfo("UTC"))
    end = start + timedelta(days=1)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    window = f'metadata.updatedDate<"{end.strftime(fmt)}"'
    if not initial:
        window = f'metadata.updatedDate>="{start.strftime(fmt)}" and {window}'
    return f"{window} sortBy id"


class IlsClient:
    """GET pages from the API with the token header, retrying transient failures."""

    def __init__(
        self,
        base_url: str,
        token: str,
        timeout: float = TIMEOUT_SECONDS,
        backoff: float = BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise IlsApiError(f"ILS API URL '{base_url}' must start with http:// or https://")
        self.base_url, self.token = base_url.rstrip("/"), token
        self.timeout, self.backoff, self.sleep = timeout, backoff, sleep

    def page(self, path: str, query: str, offset: int, limit: int) -> dict:
        """Return one page as parsed JSON; raise IlsApiError when it keeps failing."""
        params = urllib.parse.urlencode({"query": query, "offset": offset, "limit": limit})
        url = f"{self.base_url}{path}?{params}"
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            url, headers={"X-Okapi-Token": self.token, "Accept": "application/json"}
        )
        attempt = 1
        while True:
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    return json.loads(response.read())
            except urllib.error.HTTPError as error:
                if error.code not in TRANSIENT_STATUS:
                    hint = "check LIBCRM_ILS_TOKEN" if error.code in (401, 403) else "check the URL"
                    failure = EndpointMissing if error.code == 404 else IlsApiError
                    raise failure(f"GET {url}: HTTP {error.code} {error.reason}; {hint}") from None
                problem = f"HTTP {error.code}"
            except TRANSIENT_ERRORS as error:
                problem = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
            if attempt == MAX_ATTEMPTS:
                raise IlsApiError(
                    f"GET {url}: failed {MAX_ATTEMPTS} times (last: {problem}); run again later, "
                    "it resumes at this page"
                )
            wait = self.backoff * 2 ** (attempt - 1)
            log.warning("GET %s: %s; retrying in %.1f s", url, problem, wait)
            self.sleep(wait)
            attempt += 1


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
    client = client or IlsClient(base_url, token)
    query = day_query(day, initial, zone)
    counts: dict[str, int] = {}
    for endpoint in ENDPOINTS:
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
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="API root, e.g. https://okapi.example.edu")
    parser.add_argument("--day", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--initial", action="store_true", help="everything up to the day's end")
    args = parser.parse_args(argv)
    configured = settings.load().ils_token
    token = configured.get_secret_value() if configured else ""
    if not token:
        parser.error("set LIBCRM_ILS_TOKEN to the API token (sent as X-Okapi-Token)")
    counts = pull_day(args.url, token, args.day, initial=args.initial)
    print(", ".join(f"{name} {count}" for name, count in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

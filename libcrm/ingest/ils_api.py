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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from libcrm import config
from libcrm.ingest.fields import Entity
from libcrm.ingest.sources import HOLDS, ITEMS, LOANS, PATRONS, PURCHASE_REQUESTS

log = logging.getLogger(__name__)

PAGE_LIMIT = 1000  # records per page: FOLIO's documented maximum for most endpoints
MAX_ATTEMPTS = 5  # tries per page before the run stops (resumable from the checkpoint)
BACKOFF_SECONDS = 0.5  # first wait after a failure; doubled after each further failure
TIMEOUT_SECONDS = 30.0  # a page slower than this is abandoned and retried
LIBRARY_TIMEZONE = "Asia/Shanghai"  # export times are local; the API speaks UTC
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
# Failures worth another try: timeouts, refused or dropped connections, truncated bodies.
TRANSIENT_ERRORS = (
    TimeoutError, urllib.error.URLError, ConnectionError, http.client.HTTPException,
    json.JSONDecodeError,
)  # fmt: skip
# FOLIO item status names -> the statuses of items.csv (anything else is passed through, so
# the loader quarantines it with a reason instead of it being silently remapped).
ITEM_STATUS = {
    "Available": "available", "Checked out": "on_loan", "Awaiting pickup": "on_loan",
    "In transit": "on_loan", "Declared lost": "lost", "Aged to lost": "lost", "Missing": "lost",
    "Withdrawn": "withdrawn", "Restricted": "not_for_loan", "Unavailable": "not_for_loan",
}  # fmt: skip
# FOLIO request statuses -> the statuses of holds.csv. Every request type (Hold, Recall, Page)
# is a patron waiting for a particular copy, so all of them are holds.
HOLD_STATUS = {
    "Open - Not yet filled": "waiting", "Open - Awaiting pickup": "waiting",
    "Open - In transit": "waiting", "Open - Awaiting delivery": "waiting",
    "Closed - Filled": "filled", "Closed - Unfilled": "expired",
    "Closed - Pickup expired": "expired", "Closed - Cancelled": "cancelled",
}  # fmt: skip
# Purchase request statuses (named like FOLIO order lines' receipt statuses where one fits)
# -> the statuses of purchase_requests.csv.
REQUEST_STATUS = {
    "Pending": "pending", "Ordered": "ordered", "Awaiting Receipt": "ordered",
    "Received": "purchased", "Fully Received": "purchased", "Rejected": "rejected",
}  # fmt: skip
STATUS_NAMES = {"item_status": ITEM_STATUS, "hold_status": HOLD_STATUS,
                "request_status": REQUEST_STATUS}  # fmt: skip


class IlsApiError(RuntimeError):
    """The ILS API refused or kept failing; the message says which request and what to do."""


class EndpointMissing(IlsApiError):
    """The API answered 404: it does not offer the collection asked for."""


Field = str | Callable[[dict], object]  # a dotted path into the record, or a function of it


def _get(record: dict, path: Field) -> object:
    """The value of a field of a record.

    A field is a function of the record or a dotted path (``a.b``); lists give their first
    element, and ``x+y`` joins the values of two paths with a space.
    """
    if callable(path):
        return path(record)
    if "+" in path:
        parts = (_get(record, part) for part in path.split("+"))
        return " ".join(str(part) for part in parts if part not in (None, "")) or None
    value: object = record
    for part in path.split("."):
        if isinstance(value, list):
            value = value[0] if value else None
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, list):
        value = value[0] if value else None
    return value


@dataclass(frozen=True)
class Endpoint:
    """One API collection and how its records become rows of an export file."""

    path: str
    array: str
    entity: Entity  # the export file the records become
    fields: dict[str, tuple[Field, str]]  # export column -> (API field, kind), in file order
    optional: bool = False  # an API may not offer it: a 404 skips the file instead of failing

    @property
    def file_name(self) -> str:
        return self.entity.file_name

    def row(self, record: dict, zone: ZoneInfo) -> list[str]:
        return [_convert(_get(record, p), kind, zone) for p, kind in self.fields.values()]


def _convert(value: object, kind: str, zone: ZoneInfo) -> str:
    if value is None or value == "":
        return ""
    if kind in ("time", "date"):
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(zone).replace(tzinfo=None)
        return moment.strftime("%Y-%m-%d %H:%M:%S" if kind == "time" else "%Y-%m-%d")
    if kind in STATUS_NAMES:
        return STATUS_NAMES[kind].get(str(value), str(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


USER_FIELDS = {
    "patron_id": ("id", "text"),
    "barcode": ("barcode", "text"),
    "name": ("personal.firstName+personal.lastName", "text"),
    "email": ("personal.email", "text"),
    "birth_date": ("personal.dateOfBirth", "date"),
    "category": ("patronGroup", "text"),
    "department": ("departments", "text"),
    "enrolled_year": ("customFields.enrolledYear", "text"),
    "registered_on": ("enrollmentDate", "date"),
    "expires_on": ("expirationDate", "date"),
    "opt_out": ("customFields.optOut", "text"),
}
ITEM_FIELDS = {
    "item_id": ("id", "text"),
    "barcode": ("barcode", "text"),
    "title": ("title", "text"),
    "author": ("contributorNames.name", "text"),
    "call_number": ("effectiveCallNumberComponents.callNumber", "text"),
    "clc_class": ("customFields.clcClass", "text"),
    "material_type": ("materialType.name", "text"),
    "status": ("status.name", "item_status"),
    "acquired_on": ("metadata.createdDate", "date"),
}
LOAN_FIELDS = {
    "loan_id": ("id", "text"),
    "patron_id": ("userId", "text"),
    "item_id": ("itemId", "text"),
    "checkout_at": ("loanDate", "time"),
    "due_at": ("dueDate", "time"),
    "returned_at": ("returnDate", "time"),
}


def _closed_at(request: dict) -> object:
    """When a closed request closed: FOLIO's own closing dates, else its last update."""
    if not str(request.get("status", "")).startswith("Closed"):
        return None
    return (
        request.get("cancelledDate")
        or request.get("awaitingPickupRequestClosedDate")
        or _get(request, "metadata.updatedDate")
    )


def _filled_at(request: dict) -> object:
    """A filled request closed when the copy was checked out to the requester."""
    return _closed_at(request) if request.get("status") == "Closed - Filled" else None


HOLD_FIELDS = {
    "hold_id": ("id", "text"),
    "patron_id": ("requesterId", "text"),
    "item_id": ("itemId", "text"),
    "placed_at": ("requestDate", "time"),
    "status": ("status", "hold_status"),
    "filled_at": (_filled_at, "time"),
    "closed_at": (_closed_at, "time"),
}
PURCHASE_REQUEST_FIELDS = {
    "request_id": ("id", "text"),
    "patron_id": ("requesterId", "text"),
    "title": ("titleOrPackage", "text"),
    "author": ("contributors.contributor", "text"),
    "isbn": ("details.productIds.productId", "text"),
    "clc_class": ("customFields.clcClass", "text"),
    "requested_at": ("requestDate", "time"),
    "status": ("status", "request_status"),
    "decided_at": ("decisionDate", "time"),
    "item_id": ("itemId", "text"),
}
ENDPOINTS = (
    Endpoint("/users", "users", PATRONS, USER_FIELDS),
    Endpoint("/inventory/items", "items", ITEMS, ITEM_FIELDS),
    Endpoint("/circulation/loans", "loans", LOANS, LOAN_FIELDS),
    Endpoint("/request-storage/requests", "requests", HOLDS, HOLD_FIELDS),
    Endpoint("/libcrm/purchase-requests", "purchaseRequests", PURCHASE_REQUESTS,
             PURCHASE_REQUEST_FIELDS, optional=True),
)  # fmt: skip


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
                client.base_url, endpoint.path, endpoint.file_name,
            )  # fmt: skip
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="API root, e.g. https://okapi.example.edu")
    parser.add_argument("--day", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--initial", action="store_true", help="everything up to the day's end")
    args = parser.parse_args(argv)
    token = os.environ.get("LIBCRM_ILS_TOKEN", "")
    if not token:
        parser.error("set LIBCRM_ILS_TOKEN to the API token (sent as X-Okapi-Token)")
    counts = pull_day(args.url, token, args.day, initial=args.initial)
    print(", ".join(f"{name} {count}" for name, count in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

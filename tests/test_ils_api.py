"""The ILS REST adapter against a FOLIO-style HTTP server on loopback serving simulator data."""

from __future__ import annotations

import contextlib
import csv
import json
import re
import threading
import time
import urllib.parse
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from libcrm import ingest
from libcrm.ingest import ils_api
from libcrm.simulate import simulate
from tests.test_simulate import TINY

TOKEN = "okapi-test-token"  # noqa: S105 (the loopback server's token, not a secret)
FIRST = date(2026, 3, 16)
LOCAL, UTC = ZoneInfo(ils_api.LIBRARY_TIMEZONE), ZoneInfo("UTC")
LIMIT = 40  # small pages, so every file spans many of them
TIMEOUT = 0.5  # the client's patience in these tests ...
SLOW = 1.5  # ... and how long the slow page takes (once)
FOLIO_STATUS = {"available": "Available", "on_loan": "Checked out", "lost": "Declared lost",
                "withdrawn": "Withdrawn", "not_for_loan": "Restricted"}  # fmt: skip


def utc(local: str) -> str | None:
    """A local export time or date as FOLIO's UTC ISO string."""
    if not local:
        return None
    moment = datetime.fromisoformat(local).replace(tzinfo=LOCAL).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")


def folio_records(kind: str, row: dict, updated: str) -> dict:
    """One export row as the FOLIO API shows the record."""
    meta = {"updatedDate": updated}
    if kind == "users":
        first, _, last = row["name"].partition(" ")
        return {"id": row["patron_id"], "barcode": row["barcode"], "active": True,
                "personal": {"firstName": first, "lastName": last, "email": row["email"],
                             "dateOfBirth": utc(row["birth_date"])},
                "patronGroup": row["category"], "departments": [row["department"]],
                "enrollmentDate": utc(row["registered_on"]),
                "expirationDate": utc(row["expires_on"]),
                "customFields": {"enrolledYear": row["enrolled_year"] or None,
                                 "optOut": row["opt_out"] == "true"}, "metadata": meta}  # fmt: skip
    if kind == "items":
        created = utc(row["acquired_on"] + " 10:00:00")
        return {"id": row["item_id"], "barcode": row["barcode"], "title": row["title"],
                "contributorNames": [{"name": row["author"]}] if row["author"] else [],
                "effectiveCallNumberComponents": {"callNumber": row["call_number"]},
                "customFields": {"clcClass": row["clc_class"]},
                "materialType": {"name": row["material_type"]},
                "status": {"name": FOLIO_STATUS[row["status"]]},
                "metadata": {**meta, "createdDate": created}}  # fmt: skip
    return {"id": row["loan_id"], "userId": row["patron_id"], "itemId": row["item_id"],
            "loanDate": utc(row["checkout_at"]), "dueDate": utc(row["due_at"]),
            "returnDate": utc(row["returned_at"]), "metadata": meta}  # fmt: skip


class FolioLibrary:
    """The API's state: every record in its latest state up to a day, with faults to inject."""

    FILES = {"users": "patrons.csv", "items": "items.csv", "loans": "loans.csv"}
    PATHS = {"/users": "users", "/inventory/items": "items", "/circulation/loans": "loans"}

    def __init__(self, landing: Path) -> None:
        self.landing = landing
        self.records: dict[str, dict[str, dict]] = {}
        self.faults: dict[tuple[str, int], list[str]] = {}
        self.requests: list[tuple[str, int]] = []

    def as_of(self, last: date) -> None:
        self.records = {kind: {} for kind in self.FILES}
        day = FIRST
        while day <= last:
            updated = utc(f"{day.isoformat()} 12:00:00")
            for kind, name in self.FILES.items():
                with (self.landing / "ils" / day.isoformat() / name).open(encoding="utf-8") as f:
                    for row in csv.DictReader(f):
                        record = folio_records(kind, row, updated)
                        self.records[kind][record["id"]] = record
            day += timedelta(days=1)

    def page(self, kind: str, query: str, offset: int, limit: int) -> dict:
        low = re.search(r'metadata\.updatedDate>="([^"]+)"', query)
        high = re.search(r'metadata\.updatedDate<"([^"]+)"', query)
        chosen = [
            record
            for _, record in sorted(self.records[kind].items())
            if (not low or record["metadata"]["updatedDate"] >= utc_z(low.group(1)))
            and (not high or record["metadata"]["updatedDate"] < utc_z(high.group(1)))
        ]
        return {kind: chosen[offset : offset + limit], "totalRecords": len(chosen)}


def utc_z(text: str) -> str:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat(timespec="milliseconds")


def handler_for(library: FolioLibrary):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            url = urllib.parse.urlsplit(self.path)
            params = dict(urllib.parse.parse_qsl(url.query))
            offset = int(params.get("offset", "0"))
            library.requests.append((url.path, offset))
            if self.headers.get("X-Okapi-Token") != TOKEN:
                return self.reply(401, {"errors": [{"message": "Invalid token"}]})
            kind = library.PATHS.get(url.path)
            if kind is None:
                return self.reply(404, {"errors": [{"message": "No such path"}]})
            faults = library.faults.get((url.path, offset), [])
            fault = faults.pop(0) if faults else None
            if fault == "fail":
                return self.reply(500, {"errors": [{"message": "Internal server error"}]})
            if fault == "slow":
                time.sleep(SLOW)
            self.reply(200, library.page(kind, params["query"], offset, int(params["limit"])))

        def reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)  # fails when the client gave up on the slow page

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("folio")
    simulate(root / "landing", root / "truth.json", scale=TINY, first_day=FIRST, days=2)
    return root / "landing"


@pytest.fixture()
def server(exports):
    library = FolioLibrary(exports)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(library))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield library, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def client(url: str, token: str = TOKEN) -> ils_api.IlsClient:
    return ils_api.IlsClient(url, token, timeout=TIMEOUT, backoff=0.01)


def rows(path: Path) -> list[tuple[str, ...]]:
    with path.open(encoding="utf-8") as handle:
        return sorted(tuple(row) for row in csv.reader(handle))


def assert_same_files(pulled: Path, exported: Path) -> None:
    for name in ("patrons.csv", "items.csv", "loans.csv"):
        assert rows(pulled / name) == rows(exported / name), name


def test_initial_and_incremental_pulls_rebuild_the_exports(server, exports, tmp_path):
    library, url = server
    library.as_of(FIRST)
    library.faults = {("/circulation/loans", 2 * LIMIT): ["fail"], ("/users", LIMIT): ["slow"]}
    counts = ils_api.pull_day(
        url, TOKEN, FIRST, tmp_path, initial=True, client=client(url), limit=LIMIT
    )
    assert counts["loans.csv"] > 3 * LIMIT
    assert_same_files(tmp_path / "ils" / FIRST.isoformat(), exports / "ils" / FIRST.isoformat())
    assert library.requests.count(("/circulation/loans", 2 * LIMIT)) == 2  # failed, retried
    assert library.requests.count(("/users", LIMIT)) == 2  # timed out, retried

    second = FIRST + timedelta(days=1)
    library.as_of(second)
    ils_api.pull_day(url, TOKEN, second, tmp_path, client=client(url), limit=LIMIT)
    assert_same_files(tmp_path / "ils" / second.isoformat(), exports / "ils" / second.isoformat())


def test_a_run_stopped_by_a_failing_page_resumes_without_duplicates(server, exports, tmp_path):
    library, url = server
    library.as_of(FIRST)
    stuck = ("/circulation/loans", 3 * LIMIT)
    library.faults = {stuck: ["fail"] * ils_api.MAX_ATTEMPTS}
    with pytest.raises(ils_api.IlsApiError, match=r"failed 5 times .* resumes at this page"):
        ils_api.pull_day(url, TOKEN, FIRST, tmp_path, initial=True, client=client(url), limit=LIMIT)
    folder = tmp_path / "ils" / FIRST.isoformat()
    assert not (folder / "loans.csv").exists()  # no half file where the loader would see it

    library.requests.clear()
    ils_api.pull_day(url, TOKEN, FIRST, tmp_path, initial=True, client=client(url), limit=LIMIT)
    loans = [r for r in library.requests if r[0] == "/circulation/loans"]
    assert loans[0] == stuck  # resumed at the page that failed, not from the start
    assert_same_files(folder, exports / "ils" / FIRST.isoformat())
    ids = [row[0] for row in rows(folder / "loans.csv")]
    assert len(ids) == len(set(ids))


def test_a_rejected_token_stops_at_once_with_what_to_do(server, tmp_path):
    library, url = server
    library.as_of(FIRST)
    with pytest.raises(ils_api.IlsApiError, match="HTTP 401.*LIBCRM_ILS_TOKEN"):
        ils_api.pull_day(url, "wrong", FIRST, tmp_path, initial=True, client=client(url, "wrong"))
    assert library.requests == [("/users", 0)]  # a 401 is not retried


def test_pulled_files_load_like_exports(server, tmp_path, warehouse_url):
    library, url = server
    library.as_of(FIRST)
    ils_api.pull_day(url, TOKEN, FIRST, tmp_path, initial=True, client=client(url), limit=500)
    results = ingest.ingest_source("ils", FIRST, warehouse_url, tmp_path)
    assert [r.entity for r in results] == ["patrons", "items", "loans"]
    assert all(r.rows_read > 0 and r.rows_quarantined == 0 for r in results)

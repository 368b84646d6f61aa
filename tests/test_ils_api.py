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

import psycopg
import pytest

from libcrm import config, ingest
from libcrm.ingest import ils_api
from libcrm.pseudonym import user_key
from libcrm.tooling.simulate import simulate
from tests.test_simulate import TINY

TOKEN = "okapi-test-token"  # noqa: S105 (the loopback server's token, not a secret)
PASSWORD = "loopback-password"  # noqa: S105 (the loopback server's account, not a secret)
FIRST = date(2026, 3, 16)
LOCAL, UTC = ZoneInfo(ils_api.LIBRARY_TIMEZONE), ZoneInfo("UTC")
LIMIT = 40  # small pages, so every file spans many of them
RETRY = "1"  # the Retry-After, in seconds, of a 429 page
TIMEOUT = 0.5  # the client's patience in these tests ...
SLOW = 1.5  # ... and how long the slow page takes (once)
FOLIO_STATUS = {
    "available": "Available",
    "on_loan": "Checked out",
    "lost": "Declared lost",
    "withdrawn": "Withdrawn",
    "not_for_loan": "Restricted",
}
# Waiting holds take turns among FOLIO's open statuses, so each is read back as waiting.
FOLIO_HOLD_STATUS = {
    "waiting": ("Open - Not yet filled", "Open - Awaiting pickup", "Open - In transit"),
    "filled": ("Closed - Filled",),
    "expired": ("Closed - Pickup expired",),
    "cancelled": ("Closed - Cancelled",),
}
FOLIO_REQUEST_STATUS = {
    "pending": "Pending",
    "ordered": "Ordered",
    "purchased": "Received",
    "rejected": "Rejected",
}
HOLDS_PATH, PURCHASES_PATH = "/request-storage/requests", "/libcrm/purchase-requests"
ILS_FILES = ("patrons.csv", "items.csv", "loans.csv", "holds.csv", "purchase_requests.csv")


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
        return {
            "id": row["patron_id"],
            "barcode": row["barcode"],
            "active": True,
            "personal": {
                "firstName": first,
                "lastName": last,
                "email": row["email"],
                "dateOfBirth": utc(row["birth_date"]),
            },
            "patronGroup": row["category"],
            "departments": [row["department"]],
            "enrollmentDate": utc(row["registered_on"]),
            "expirationDate": utc(row["expires_on"]),
            "customFields": {
                "enrolledYear": row["enrolled_year"] or None,
                "optOut": row["opt_out"] == "true",
            },
            "metadata": meta,
        }
    if kind == "items":
        created = utc(row["acquired_on"] + " 10:00:00")
        return {
            "id": row["item_id"],
            "barcode": row["barcode"],
            "title": row["title"],
            "contributorNames": [{"name": row["author"]}] if row["author"] else [],
            "effectiveCallNumberComponents": {"callNumber": row["call_number"]},
            "customFields": {"clcClass": row["clc_class"]},
            "materialType": {"name": row["material_type"]},
            "status": {"name": FOLIO_STATUS[row["status"]]},
            "metadata": {**meta, "createdDate": created},
        }
    if kind == "loans":
        return {
            "id": row["loan_id"],
            "userId": row["patron_id"],
            "itemId": row["item_id"],
            "loanDate": utc(row["checkout_at"]),
            "dueDate": utc(row["due_at"]),
            "returnDate": utc(row["returned_at"]),
            "metadata": meta,
        }
    if kind == "requests":
        return folio_hold(row, meta)
    return folio_purchase_request(row, meta)


def folio_hold(row: dict, meta: dict) -> dict:
    """A hold as a FOLIO request: it closes when filled, so filled_at is its closing time."""
    assert row["filled_at"] in ("", row["closed_at"]), row  # the adapter relies on it
    number = int(row["hold_id"].lstrip("H"))  # varies the request type and the open status
    status, closed = row["status"], utc(row["closed_at"])
    open_or_closed = FOLIO_HOLD_STATUS[status]
    return {
        "id": row["hold_id"],
        "requestType": ("Hold", "Recall", "Page")[number % 3],
        "requestLevel": "Item",
        "requesterId": row["patron_id"],
        "itemId": row["item_id"],
        "requestDate": utc(row["placed_at"]),
        "status": open_or_closed[number % len(open_or_closed)],
        "cancelledDate": closed if status == "cancelled" else None,
        "awaitingPickupRequestClosedDate": closed if status in ("filled", "expired") else None,
        "fulfilmentPreference": "Hold Shelf",
        "metadata": meta,
    }


def folio_purchase_request(row: dict, meta: dict) -> dict:
    """A purchase request in the record shape docs/sources.md asks a library to serve."""
    isbn = [{"productId": row["isbn"], "productIdType": "ISBN"}] if row["isbn"] else []
    return {
        "id": row["request_id"],
        "requesterId": row["patron_id"],
        "titleOrPackage": row["title"],
        "contributors": [{"contributor": row["author"]}] if row["author"] else [],
        "details": {"productIds": isbn},
        "customFields": {"clcClass": row["clc_class"]},
        "requestDate": utc(row["requested_at"]),
        "status": FOLIO_REQUEST_STATUS[row["status"]],
        "decisionDate": utc(row["decided_at"]),
        "itemId": row["item_id"] or None,
        "metadata": meta,
    }


class FolioLibrary:
    """The API's state: every record in its latest state up to a day, with faults to inject."""

    FILES = {
        "users": "patrons.csv",
        "items": "items.csv",
        "loans": "loans.csv",
        "requests": "holds.csv",
        "purchaseRequests": "purchase_requests.csv",
    }
    PATHS = {
        "/users": "users",
        "/inventory/items": "items",
        "/circulation/loans": "loans",
        HOLDS_PATH: "requests",
        PURCHASES_PATH: "purchaseRequests",
    }

    def __init__(self, landing: Path) -> None:
        self.landing = landing
        self.paths = dict(self.PATHS)  # the collections this API offers
        self.records: dict[str, dict[str, dict]] = {}
        self.faults: dict[tuple[str, int], list[str]] = {}
        self.requests: list[tuple[str, int]] = []
        self.times: list[tuple[str, int, float]] = []  # every GET with when it came
        self.tokens = {TOKEN}  # the tokens the API accepts now
        self.tenant: str | None = None  # when set, X-Okapi-Tenant must name it
        self.accounts: dict[str, str] = {}  # username -> password for /authn/login-with-expiry
        self.logins = 0
        self.login_faults: list[str] = []  # what the next logins answer instead of a token

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
            library.times.append((url.path, offset, time.monotonic()))
            if library.tenant and self.headers.get("X-Okapi-Tenant") != library.tenant:
                return self.reply(400, {"errors": [{"message": "No such Tenant"}]})
            faults = library.faults.get((url.path, offset), [])
            fault = faults.pop(0) if faults else None
            if fault == "expire":  # the token expired before this request
                library.tokens.clear()
            if self.headers.get("X-Okapi-Token") not in library.tokens:
                return self.reply(401, {"errors": [{"message": "Invalid token"}]})
            kind = library.paths.get(url.path)
            if kind is None:
                return self.reply(404, {"errors": [{"message": "No such path"}]})
            if fault == "fail":
                return self.reply(500, {"errors": [{"message": "Internal server error"}]})
            if fault == "busy":
                return self.reply(429, {"errors": [{"message": "Too many requests"}]}, RETRY)
            if fault == "slow":
                time.sleep(SLOW)
            self.reply(200, library.page(kind, params["query"], offset, int(params["limit"])))

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            """FOLIO's /authn/login-with-expiry: the token comes back as a cookie."""
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path != "/authn/login-with-expiry":
                return self.reply(404, {"errors": [{"message": "No such path"}]})
            if library.tenant and self.headers.get("X-Okapi-Tenant") != library.tenant:
                return self.reply(400, {"errors": [{"message": "No such Tenant"}]})
            fault = library.login_faults.pop(0) if library.login_faults else None
            if fault == "busy":
                return self.reply(429, {"errors": [{"message": "Too many requests"}]}, RETRY)
            if fault == "fail":
                return self.reply(503, {"errors": [{"message": "Service unavailable"}]})
            if library.accounts.get(body.get("username")) != body.get("password"):
                return self.reply(422, {"errors": [{"message": "Password does not match"}]})
            library.logins += 1
            token = f"access-{library.logins}"
            library.tokens.add(token)
            expiry = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
            cookie = f"folioAccessToken={token}; Max-Age=600; Path=/; HttpOnly"
            self.reply(201, {"accessTokenExpiration": expiry}, cookie=cookie)

        def reply(
            self, status: int, body: dict, retry_after: str | None = None, cookie: str = ""
        ) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if retry_after:
                self.send_header("Retry-After", retry_after)
            if cookie:
                self.send_header("Set-Cookie", cookie)
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
    for name in ILS_FILES:
        assert rows(pulled / name) == rows(exported / name), name


def test_initial_and_incremental_pulls_rebuild_the_exports(server, exports, tmp_path):
    library, url = server
    library.as_of(FIRST)
    failing = [("/circulation/loans", 2 * LIMIT), (HOLDS_PATH, 3 * LIMIT)]
    slow = [("/users", LIMIT), (PURCHASES_PATH, 0)]
    library.faults = {page: ["fail"] for page in failing} | {page: ["slow"] for page in slow}
    counts = ils_api.pull_day(
        url, TOKEN, FIRST, tmp_path, initial=True, client=client(url), limit=LIMIT
    )
    assert counts["loans.csv"] > 3 * LIMIT and counts["holds.csv"] > 3 * LIMIT
    assert counts["purchase_requests.csv"] > 0
    assert_same_files(tmp_path / "ils" / FIRST.isoformat(), exports / "ils" / FIRST.isoformat())
    for page in failing + slow:
        assert library.requests.count(page) == 2, page  # failed or timed out, then retried

    second = FIRST + timedelta(days=1)
    library.as_of(second)
    increment = ils_api.pull_day(url, TOKEN, second, tmp_path, client=client(url), limit=LIMIT)
    assert 0 < increment["holds.csv"] < counts["holds.csv"]  # only the day's changes
    assert_same_files(tmp_path / "ils" / second.isoformat(), exports / "ils" / second.isoformat())


@pytest.mark.parametrize("stuck", [("/circulation/loans", 3 * LIMIT), (HOLDS_PATH, 5 * LIMIT)])
def test_a_run_stopped_by_a_failing_page_resumes_without_duplicates(
    server, exports, tmp_path, stuck
):
    library, url = server
    library.as_of(FIRST)
    library.faults = {stuck: ["fail"] * ils_api.MAX_ATTEMPTS}
    with pytest.raises(ils_api.IlsApiError, match=r"failed 5 times .* resumes at this page"):
        ils_api.pull_day(url, TOKEN, FIRST, tmp_path, initial=True, client=client(url), limit=LIMIT)
    folder = tmp_path / "ils" / FIRST.isoformat()
    name = library.FILES[library.PATHS[stuck[0]]]
    assert not (folder / name).exists()  # no half file where the loader would see it

    library.requests.clear()
    ils_api.pull_day(url, TOKEN, FIRST, tmp_path, initial=True, client=client(url), limit=LIMIT)
    pages = [r for r in library.requests if r[0] == stuck[0]]
    assert pages[0] == stuck  # resumed at the page that failed, not from the start
    assert_same_files(folder, exports / "ils" / FIRST.isoformat())
    ids = [row[0] for row in rows(folder / name)]
    assert len(ids) == len(set(ids))


def test_a_rejected_token_stops_at_once_with_what_to_do(server, tmp_path):
    library, url = server
    library.as_of(FIRST)
    with pytest.raises(ils_api.IlsApiError, match="HTTP 401.*LIBCRM_ILS_TOKEN"):
        ils_api.pull_day(url, "wrong", FIRST, tmp_path, initial=True, client=client(url, "wrong"))
    assert library.requests == [("/users", 0)]  # a 401 is not retried


def test_an_api_without_purchase_requests_still_delivers_the_rest(server, tmp_path, caplog):
    library, url = server
    library.as_of(FIRST)
    del library.paths[PURCHASES_PATH]
    counts = ils_api.pull_day(
        url, TOKEN, FIRST, tmp_path, initial=True, client=client(url), limit=500
    )
    folder = tmp_path / "ils" / FIRST.isoformat()
    delivered = [name for name in ILS_FILES if name != "purchase_requests.csv"]
    assert sorted(counts) == sorted(delivered)
    # No leftovers: the files and the manifest of the complete pull.
    assert sorted(path.name for path in folder.iterdir()) == sorted([*delivered, ils_api.MANIFEST])
    assert library.requests.count((PURCHASES_PATH, 0)) == 1  # a 404 is not retried
    assert "purchase_requests.csv not written" in caplog.text

    del library.paths[HOLDS_PATH]  # holds are part of FOLIO: their absence is an error
    with pytest.raises(ils_api.IlsApiError, match=f"{HOLDS_PATH}.*HTTP 404.*check the URL"):
        ils_api.pull_day(url, TOKEN, FIRST, tmp_path, initial=True, client=client(url))


def test_request_statuses_and_closing_times_map_onto_the_export_vocabulary():
    holds, purchases = (e for e in ils_api.ENDPOINTS if e.path in (HOLDS_PATH, PURCHASES_PATH))
    request = {
        "id": "H1",
        "requesterId": "P1",
        "itemId": "I1",
        "requestDate": "2026-03-16T01:00:00.000Z",
        "metadata": {"updatedDate": "2026-03-16T04:00:00.000Z"},
    }
    pickup, cancelled = "2026-03-16T02:00:00.000Z", "2026-03-16T03:00:00.000Z"
    # A table, one case per row, kept as laid out (the formatter would split the long rows).
    cases = [  # FOLIO status, closing dates -> status, filled_at, closed_at (local time)
        ("Open - Awaiting delivery", {}, "waiting", "", ""),
        ("Closed - Filled", {"awaitingPickupRequestClosedDate": pickup},
         "filled", "2026-03-16 10:00:00", "2026-03-16 10:00:00"),
        ("Closed - Filled", {}, "filled", "2026-03-16 12:00:00", "2026-03-16 12:00:00"),
        ("Closed - Unfilled", {}, "expired", "", "2026-03-16 12:00:00"),
        ("Closed - Cancelled", {"awaitingPickupRequestClosedDate": pickup,
                                "cancelledDate": cancelled},
         "cancelled", "", "2026-03-16 11:00:00"),
        ("Closed - Denied", {}, "Closed - Denied", "", "2026-03-16 12:00:00"),  # unknown: kept
    ]  # fmt: skip
    for folio, dates, status, filled, closed in cases:
        row = holds.row({**request, **dates, "status": folio}, LOCAL)
        assert row == ["H1", "P1", "I1", "2026-03-16 09:00:00", status, filled, closed], folio

    suggestion = {
        "id": "R1",
        "requesterId": "P1",
        "titleOrPackage": "Three Body",
        "details": {"productIds": [{"productId": "9787536692930"}]},
    }
    for folio, status in [
        ("Fully Received", "purchased"),
        ("Awaiting Receipt", "ordered"),
        ("Cancelled", "Cancelled"),
    ]:
        row = purchases.row({**suggestion, "status": folio}, LOCAL)
        assert row == ["R1", "P1", "Three Body", "", "9787536692930", "", "", status, "", ""]


def raw_rows(url: str, table: str, columns: list[str]) -> set[tuple[str, ...]]:
    """Rows of a raw table as export text: user_key first, then the file's columns."""
    listed = ", ".join(f"coalesce({column}::text, '')" for column in ["user_key", *columns])
    with psycopg.connect(url) as conn:
        return set(conn.execute(f"select {listed} from raw.{table}").fetchall())  # noqa: S608


def test_pulled_files_load_like_exports(server, exports, tmp_path, warehouse_url):
    library, url = server
    library.as_of(FIRST)
    # Two records the loader must refuse, with a reason: a title-level request no copy is
    # assigned to yet, and a purchase request status the adapter does not map.
    unassigned = min(library.records["requests"])
    library.records["requests"][unassigned].update(requestLevel="Title", itemId=None)
    cancelled = min(library.records["purchaseRequests"])
    library.records["purchaseRequests"][cancelled]["status"] = "Cancelled"
    ils_api.pull_day(url, TOKEN, FIRST, tmp_path, initial=True, client=client(url), limit=500)
    results = ingest.ingest_source("ils", FIRST, warehouse_url, tmp_path)

    assert [r.entity for r in results] == [name.removesuffix(".csv") for name in ILS_FILES]
    assert all(r.rows_read == r.rows_loaded + r.rows_quarantined > 0 for r in results)
    assert {r.entity: r.rows_quarantined for r in results} == {
        "patrons": 0,
        "items": 0,
        "loans": 0,
        "holds": 1,
        "purchase_requests": 1,
    }
    with psycopg.connect(warehouse_url) as conn:
        query = "select file, content, reason from quarantine.rejected_rows"
        refused = sorted(conn.execute(query).fetchall())
    assert [(Path(file).name, content.split(",")[0]) for file, content, _ in refused] == [
        ("holds.csv", unassigned),
        ("purchase_requests.csv", cancelled),
    ]
    assert "item_id" in refused[0][2] and "'Cancelled'" in refused[1][2]

    # Everything else is the simulator's own export, under the same pseudonyms.
    secret = config.pseudonym_key()
    for table, refused_id in (("holds", unassigned), ("purchase_requests", cancelled)):
        with (exports / "ils" / FIRST.isoformat() / f"{table}.csv").open(encoding="utf-8") as f:
            exported = list(csv.reader(f))
        expected = {
            (user_key(secret, row[1]), *row) for row in exported[1:] if row[0] != refused_id
        }
        assert raw_rows(warehouse_url, table, exported[0]) == expected, table


def test_tenant_login_expired_token_and_retry_after_over_one_connection(server, tmp_path):
    library, url = server
    library.as_of(FIRST)
    library.tenant, library.accounts = "diku", {"libcrm": PASSWORD}
    library.faults = {
        ("/inventory/items", LIMIT): ["expire"],
        ("/circulation/loans", 0): ["busy"],
        (HOLDS_PATH, LIMIT): ["fail"],
    }
    waits: list[float] = []
    folio = ils_api.IlsClient(
        url, tenant="diku", username="libcrm", password=PASSWORD, sleep=waits.append
    )
    with folio:
        ils_api.pull_day(url, "", FIRST, tmp_path, initial=True, client=folio, limit=LIMIT)
    assert library.logins == 2  # at the start, and once the token had expired
    assert float(RETRY) in waits  # the 429 was waited out as the API asked
    assert library.requests.count(("/circulation/loans", 0)) == 2
    assert library.requests.count((HOLDS_PATH, LIMIT)) == 2
    assert_same_files(tmp_path / "ils" / FIRST.isoformat(), exports_of(library))

    wrong = ils_api.IlsClient(url, tenant="other", username="libcrm", password=PASSWORD)
    with pytest.raises(ils_api.IlsApiRefused, match="HTTP 400.*LIBCRM_ILS_TENANT"), wrong:
        wrong.login()


def exports_of(library: FolioLibrary) -> Path:
    return library.landing / "ils" / FIRST.isoformat()


def test_a_busy_or_failing_login_is_retried_not_taken_for_wrong_credentials(server, tmp_path):
    library, url = server
    library.as_of(FIRST)
    library.accounts = {"libcrm": PASSWORD}
    library.login_faults = ["busy", "fail"]
    library.faults = {("/inventory/items", LIMIT): ["expire"]}
    waits: list[float] = []
    folio = ils_api.IlsClient(url, username="libcrm", password=PASSWORD, sleep=waits.append)
    with folio:
        ils_api.pull_day(url, "", FIRST, tmp_path, initial=True, client=folio, limit=LIMIT)
    assert float(RETRY) in waits  # the 429 at login was waited out as the API asked
    assert library.logins == 2 and library.login_faults == []
    assert_same_files(tmp_path / "ils" / FIRST.isoformat(), exports_of(library))

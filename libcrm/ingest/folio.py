"""How FOLIO-style API records become rows of the export files (``patrons.csv`` …).

Each endpoint lists, per export column, the record field it comes from and how the value is
written: text, a local time or date (the API speaks UTC), or a status mapped onto the export's
vocabulary. A status the maps do not know is passed through, so the loader quarantines it with
a reason instead of it being silently remapped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from libcrm.ingest.fields import Entity
from libcrm.ingest.sources import HOLDS, ITEMS, LOANS, PATRONS, PURCHASE_REQUESTS

# FOLIO item status names -> the statuses of items.csv (anything else is passed through, so
# the loader quarantines it with a reason instead of it being silently remapped).
ITEM_STATUS = {
    "Available": "available",
    "Checked out": "on_loan",
    "Awaiting pickup": "on_loan",
    "In transit": "on_loan",
    "Declared lost": "lost",
    "Aged to lost": "lost",
    "Missing": "lost",
    "Withdrawn": "withdrawn",
    "Restricted": "not_for_loan",
    "Unavailable": "not_for_loan",
}
# FOLIO request statuses -> the statuses of holds.csv. Every request type (Hold, Recall, Page)
# is a patron waiting for a particular copy, so all of them are holds.
HOLD_STATUS = {
    "Open - Not yet filled": "waiting",
    "Open - Awaiting pickup": "waiting",
    "Open - In transit": "waiting",
    "Open - Awaiting delivery": "waiting",
    "Closed - Filled": "filled",
    "Closed - Unfilled": "expired",
    "Closed - Pickup expired": "expired",
    "Closed - Cancelled": "cancelled",
}
# Purchase request statuses (named like FOLIO order lines' receipt statuses where one fits)
# -> the statuses of purchase_requests.csv.
REQUEST_STATUS = {
    "Pending": "pending",
    "Ordered": "ordered",
    "Awaiting Receipt": "ordered",
    "Received": "purchased",
    "Fully Received": "purchased",
    "Rejected": "rejected",
}
STATUS_NAMES = {
    "item_status": ITEM_STATUS,
    "hold_status": HOLD_STATUS,
    "request_status": REQUEST_STATUS,
}


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
    Endpoint(
        "/libcrm/purchase-requests",
        "purchaseRequests",
        PURCHASE_REQUESTS,
        PURCHASE_REQUEST_FIELDS,
        optional=True,
    ),
)

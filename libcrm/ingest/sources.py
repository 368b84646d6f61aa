"""The source entities libcrm loads, as documented in docs/sources.md."""

from __future__ import annotations

from libcrm.ingest.fields import (
    Column,
    Entity,
    boolean,
    day,
    integer,
    one_of,
    timestamp,
    whole_number_in,
)

CATEGORIES = ("undergraduate", "graduate", "faculty", "staff")
MATERIAL_TYPES = ("book", "study_room", "locker", "laptop")
ITEM_STATUSES = ("available", "on_loan", "lost", "withdrawn", "not_for_loan")
EVENT_CATEGORIES = ("lecture", "reading_club", "workshop", "reading_festival")
ATTENDANCE = ("attended", "no_show", "unknown")
HOLD_STATUSES = ("waiting", "filled", "expired", "cancelled")
REQUEST_STATUSES = ("pending", "ordered", "purchased", "rejected")
RATING_RANGE = (1, 5)  # an event's rating, as registrations carry it
# The open vocabularies: their documented codes, to which a library's mapping may add its own.
VOCABULARIES = {
    "patron_category": CATEGORIES,
    "material_type": MATERIAL_TYPES,
    "event_category": EVENT_CATEGORIES,
}

PATRONS = Entity(
    source="ils",
    file_name="patrons.csv",
    table="patrons",
    key="patron_id",
    unique=("patron_id", "barcode"),
    columns=(
        Column("patron_id", required=True),
        Column("barcode", required=True),
        Column("name"),
        Column("email"),
        Column("birth_date", day),
        Column("category", one_of(*CATEGORIES), required=True, vocabulary="patron_category"),
        Column("department"),
        Column("enrolled_year", integer),
        Column("registered_on", day, required=True),
        Column("expires_on", day),
        Column("opt_out", boolean, required=True),
    ),
)

ITEMS = Entity(
    source="ils",
    file_name="items.csv",
    table="items",
    unique=("item_id",),
    columns=(
        Column("item_id", required=True),
        Column("barcode"),
        Column("title", required=True),
        Column("author"),
        Column("call_number"),
        Column("clc_class"),
        Column(
            "material_type",
            one_of(*MATERIAL_TYPES),
            required=True,
            vocabulary="material_type",
        ),
        Column("status", one_of(*ITEM_STATUSES), required=True),
        Column("acquired_on", day),
    ),
)

LOANS = Entity(
    source="ils",
    file_name="loans.csv",
    table="loans",
    key="patron_id",
    unique=("loan_id",),
    columns=(
        Column("loan_id", required=True),
        Column("patron_id", required=True),
        Column("item_id", required=True),
        Column("checkout_at", timestamp, required=True),
        Column("due_at", timestamp),
        Column("returned_at", timestamp),
    ),
)

HOLDS = Entity(
    source="ils",
    file_name="holds.csv",
    table="holds",
    key="patron_id",
    unique=("hold_id",),
    columns=(
        Column("hold_id", required=True),
        Column("patron_id", required=True),
        Column("item_id", required=True),
        Column("placed_at", timestamp, required=True),
        Column("status", one_of(*HOLD_STATUSES), required=True),
        Column("filled_at", timestamp),
        Column("closed_at", timestamp),
    ),
)

PURCHASE_REQUESTS = Entity(
    source="ils",
    file_name="purchase_requests.csv",
    table="purchase_requests",
    key="patron_id",
    unique=("request_id",),
    columns=(
        Column("request_id", required=True),
        Column("patron_id", required=True),
        Column("title", required=True),
        Column("author"),
        Column("isbn"),
        Column("clc_class"),
        Column("requested_at", timestamp, required=True),
        Column("status", one_of(*REQUEST_STATUSES), required=True),
        Column("decided_at", timestamp),
        Column("item_id"),
    ),
)

GATE_PASSAGES = Entity(
    source="gate",
    file_name="gate_log.csv",
    table="gate_passages",
    key="card_number",
    columns=(
        Column("card_number", required=True),
        Column("timestamp", timestamp, required=True, target="passed_at"),
        Column("direction", one_of("in", "out"), required=True),
        Column("gate_id"),
    ),
)

EVENTS = Entity(
    source="events",
    file_name="events.json",
    table="events",
    unique=("id",),
    columns=(
        Column("id", required=True, target="event_id"),
        Column("title", required=True),
        Column(
            "category.name",
            one_of(*EVENT_CATEGORIES),
            required=True,
            target="category",
            vocabulary="event_category",
        ),
        Column("start", timestamp, required=True, target="starts_at"),
        Column("end", timestamp, target="ends_at"),
        Column("location"),
        Column("seats", integer),
        Column("registration", boolean, required=True, target="registration_open"),
    ),
)

REGISTRATIONS = Entity(
    source="events",
    file_name="registrations.json",
    table="event_registrations",
    key="barcode",
    unique=("registration_id",),
    columns=(
        Column("registration_id", required=True),
        Column("event_id", required=True),
        Column("barcode", required=True),
        Column("registered_at", timestamp),
        Column("attendance", one_of(*ATTENDANCE), required=True),
        Column("rating", whole_number_in(*RATING_RANGE)),
    ),
)

# Load order matters: patrons first, so cards seen by gates and events resolve to a user_key.
ENTITIES = (PATRONS, ITEMS, LOANS, HOLDS, PURCHASE_REQUESTS, GATE_PASSAGES, EVENTS, REGISTRATIONS)
BY_SOURCE = {
    source: tuple(entity for entity in ENTITIES if entity.source == source)
    for source in ("ils", "gate", "events")
}

"""One suite per raw entity, over the rows the day's loads brought in, plus the load audit.

Labels (categories, statuses, directions) are checked once, by dbt's tests on staging; these
suites check what needs the day's batches: volumes against recent days, keys within the batch,
times inside the interval, references across exports.

Timestamps and the initial export: an incremental batch holds what was created or changed
during the day, so its change times must fall inside ``[day, day + 1)``; a time after the end
is critical (a clock or export fault that would put the future into profiles), a time before
the start is a warning (late-arriving rows happen). The first batch of an entity is an initial
export holding the whole history: only "not after the end of the interval" is checked, and it
gets no volume band.
"""

from __future__ import annotations

from datetime import date

import great_expectations.expectations as gxe

from expectations.base import CRITICAL, WARNING, Interval, Suite, note
from expectations.history import BatchFacts
from libcrm.identity import card_holder_join

# A few loans may name a patron or item the ILS exports a day later; more means the ILS
# exports are out of step with each other.
UNKNOWN_REFERENCE_SHARE = 0.02


def _day_batches(facts: BatchFacts) -> str:
    """The day's batch ids as SQL list items (``null`` when none: the suite then sees no rows)."""
    return ", ".join(map(str, facts.batches)) or "null"


def _volume(facts: BatchFacts, must_not_be_empty: str | None = None) -> list:
    """Row count in the learned band (warning); optionally not empty when delivered (critical)."""
    low, high, why = facts.band()
    checks = [
        gxe.ExpectTableRowCountToBeBetween(
            min_value=low, max_value=high, severity=WARNING, meta=note(why)
        )
    ]
    if must_not_be_empty and facts.delivered:
        checks.append(
            gxe.ExpectTableRowCountToBeBetween(
                min_value=1, severity=CRITICAL, meta=note(must_not_be_empty)
            )
        )
    return checks


def _inside_interval(column: str, facts: BatchFacts, interval: Interval) -> list:
    """Not after the interval's end (critical); not before its start when incremental (warning)."""
    checks = [
        gxe.ExpectColumnValuesToBeBetween(
            column=column, max_value=interval.end, strict_max=True, severity=CRITICAL
        )
    ]
    if facts.initial:
        return checks
    return checks + [
        gxe.ExpectColumnValuesToBeBetween(
            column=column,
            min_value=interval.start,
            severity=WARNING,
            meta=note("incremental batch: a change before the day arrived late"),
        )
    ]


def _not_after_end(interval: Interval, *columns: str) -> list:
    """Each of ``columns`` before the interval's end (critical): nothing happens in the future."""
    return [
        gxe.ExpectColumnValuesToBeBetween(
            column=column, max_value=interval.end, strict_max=True, severity=CRITICAL
        )
        for column in columns
    ]


def _has_holder() -> list:
    return [gxe.ExpectColumnValuesToNotBeNull(column="user_key", severity=CRITICAL)]


def _key(column: str) -> list:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column=column, severity=CRITICAL),
        gxe.ExpectColumnValuesToBeUnique(column=column, severity=CRITICAL),
    ]


def raw_patrons(data_date: date, facts: BatchFacts) -> Suite:
    """Patrons: pseudonymous key unique in the batch, no future sign-ups.

    Names, e-mails and cards are never selected, so they cannot reach Data Docs or results.
    """
    query = (
        "select batch_id, user_key, registered_on, opt_out from raw.patrons "  # noqa: S608
        f"where batch_id in ({_day_batches(facts)})"
    )
    return Suite(
        "raw_patrons",
        query,
        _volume(facts)
        + _key("user_key")
        + [
            gxe.ExpectColumnValuesToBeBetween(
                column="registered_on", max_value=data_date.isoformat(), severity=WARNING
            ),
        ],
        tables=("raw.patrons",),
    )


def raw_items(data_date: date, facts: BatchFacts) -> Suite:
    """Items: id unique in the batch, no acquisition in the future."""
    query = (
        "select batch_id, item_id, acquired_on from raw.items "  # noqa: S608
        f"where batch_id in ({_day_batches(facts)})"
    )
    return Suite(
        "raw_items",
        query,
        _volume(facts)
        + _key("item_id")
        + [
            gxe.ExpectColumnValuesToBeBetween(
                column="acquired_on", max_value=data_date.isoformat(), severity=WARNING
            ),
        ],
        tables=("raw.items",),
    )


def raw_loans(data_date: date, facts: BatchFacts) -> Suite:
    """Loans: id unique, no checkout or return in the future, changes inside the day, and few
    loans naming a patron or item the ILS never exported."""
    query = f"""
        select
            loans.loan_id,
            loans.checkout_at,
            loans.returned_at,
            greatest(loans.checkout_at, loans.returned_at) as changed_at,
            case when keys.user_key is null then loans.loan_id end as loan_of_unknown_patron,
            case when known_items.item_id is null then loans.item_id end as unknown_item_id
        from raw.loans as loans
        left join identity.patron_keys as keys on loans.user_key = keys.user_key
        left join (select distinct item_id from raw.items) as known_items
            on loans.item_id = known_items.item_id
        where loans.batch_id in ({_day_batches(facts)})
    """  # noqa: S608
    interval = Interval(data_date)
    mostly = 1 - UNKNOWN_REFERENCE_SHARE
    return Suite(
        "raw_loans",
        query,
        _volume(facts)
        + _key("loan_id")
        + _not_after_end(interval, "checkout_at", "returned_at")
        + _inside_interval("changed_at", facts, interval)[1:]
        + [
            gxe.ExpectColumnValuesToBeNull(
                column="loan_of_unknown_patron", mostly=mostly, severity=CRITICAL
            ),
            gxe.ExpectColumnValuesToBeNull(
                column="unknown_item_id", mostly=mostly, severity=CRITICAL
            ),
        ],
        tables=("raw.loans", "raw.items", "identity.patron_keys"),
    )


def _open_exactly_while(column: str, open_status: str) -> list:
    """``column`` is empty exactly while the status is ``open_status`` (warning)."""
    return [
        gxe.ExpectColumnValuesToBeNull(
            column=column,
            severity=WARNING,
            meta=note(f"the end time is empty exactly while the status is {open_status}"),
        )
    ]


def raw_holds(data_date: date, facts: BatchFacts) -> Suite:
    """Holds: id unique, no placement, fill or close in the future, changes
    inside the day, closed exactly when no longer waiting, few holds on unknown copies."""
    query = f"""
        select
            holds.hold_id,
            holds.placed_at,
            holds.filled_at,
            holds.closed_at,
            greatest(holds.placed_at, holds.closed_at) as changed_at,
            case
                when (holds.status = 'waiting') = (holds.closed_at is not null)
                    then holds.hold_id
            end as close_out_of_step,
            case when known_items.item_id is null then holds.item_id end as unknown_item_id
        from raw.holds as holds
        left join (select distinct item_id from raw.items) as known_items
            on holds.item_id = known_items.item_id
        where holds.batch_id in ({_day_batches(facts)})
    """  # noqa: S608
    interval = Interval(data_date)
    return Suite(
        "raw_holds",
        query,
        _volume(facts)
        + _key("hold_id")
        + _not_after_end(interval, "placed_at", "filled_at", "closed_at")
        + _inside_interval("changed_at", facts, interval)[1:]
        + _open_exactly_while("close_out_of_step", "waiting")
        + [
            gxe.ExpectColumnValuesToBeNull(
                column="unknown_item_id", mostly=1 - UNKNOWN_REFERENCE_SHARE, severity=WARNING
            )
        ],
        tables=("raw.holds", "raw.items"),
    )


def raw_purchase_requests(data_date: date, facts: BatchFacts) -> Suite:
    """Purchase requests: id unique, no request or decision in the future,
    changes inside the day, decided exactly when no longer pending.

    A request exported again when its book arrives carries no arrival time, so a purchased
    request has no change time to check against the day.
    """
    query = (
        "select request_id, requested_at, decided_at, "  # noqa: S608
        "case when status <> 'purchased' then greatest(requested_at, decided_at) end "
        "as changed_at, "
        "case when (status = 'pending') = (decided_at is not null) then request_id end "
        "as decision_out_of_step "
        "from raw.purchase_requests "
        f"where batch_id in ({_day_batches(facts)})"
    )
    interval = Interval(data_date)
    return Suite(
        "raw_purchase_requests",
        query,
        _volume(facts)
        + _key("request_id")
        + _not_after_end(interval, "requested_at", "decided_at")
        + _inside_interval("changed_at", facts, interval)[1:]
        + _open_exactly_while("decision_out_of_step", "pending"),
        tables=("raw.purchase_requests",),
    )


def raw_gate_passages(data_date: date, facts: BatchFacts) -> Suite:
    """Gate passages: a delivered log is never empty, times inside the day."""
    query = (
        "select batch_id, passed_at from raw.gate_passages "  # noqa: S608
        f"where batch_id in ({_day_batches(facts)})"
    )
    empty = (
        "a day the library is closed delivers no gate log; a delivered log with no passages "
        "means the turnstile export broke"
    )
    return Suite(
        "raw_gate_passages",
        query,
        _volume(facts, must_not_be_empty=empty)
        + _inside_interval("passed_at", facts, Interval(data_date)),
        tables=("raw.gate_passages",),
    )


def raw_gate_cards(facts: BatchFacts) -> Suite:
    """Every card of the day's gate passages has a holder for its batch (else staging would
    drop its passages). Checked per distinct card and batch: tens of thousands of rows where
    the passages are millions."""
    query = f"""
        select passages.batch_id, passages.card_number, cards.user_key
        from (
            select distinct batch_id, card_number from raw.gate_passages
            where batch_id in ({_day_batches(facts)})
        ) as passages
        {card_holder_join("passages", "card_number")}
    """  # noqa: S608
    return Suite(
        "raw_gate_cards", query, _has_holder(), tables=("raw.gate_passages", "identity.cards")
    )


def raw_events(data_date: date, facts: BatchFacts) -> Suite:
    """Events: id unique, an end after the start (starts may be future)."""
    query = (
        "select batch_id, event_id, starts_at, ends_at from raw.events "  # noqa: S608
        f"where batch_id in ({_day_batches(facts)})"
    )
    return Suite(
        "raw_events",
        query,
        _volume(facts)
        + _key("event_id")
        + [
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="ends_at",
                column_B="starts_at",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                severity=WARNING,
            ),
        ],
        tables=("raw.events",),
    )


def raw_event_registrations(data_date: date, facts: BatchFacts) -> Suite:
    """Registrations: id unique, every card has a holder, no registration in the future
    (attendance updates keep their old registration time), events known. Ratings outside 1-5
    never reach raw: the load quarantines them."""
    query = f"""
        select
            registrations.registration_id,
            registrations.registered_at,
            cards.user_key,
            case when known.event_id is null then registrations.event_id end as unknown_event_id
        from raw.event_registrations as registrations
        {card_holder_join("registrations", "barcode")}
        left join (select distinct event_id from raw.events) as known
            on registrations.event_id = known.event_id
        where registrations.batch_id in ({_day_batches(facts)})
    """  # noqa: S608
    interval = Interval(data_date)
    return Suite(
        "raw_event_registrations",
        query,
        _volume(facts)
        + _key("registration_id")
        + _has_holder()
        + [
            gxe.ExpectColumnValuesToBeBetween(
                column="registered_at", max_value=interval.end, strict_max=True, severity=CRITICAL
            ),
            gxe.ExpectColumnValuesToBeNull(
                column="unknown_event_id", mostly=1 - UNKNOWN_REFERENCE_SHARE, severity=WARNING
            ),
        ],
        tables=("raw.event_registrations", "raw.events", "identity.cards"),
    )

"""One suite per raw entity of the ILS export, over the rows the day's loads brought in (the
gate and events sources: ``expectations.raw_gate_events``; the load audit: ``expectations.audit``).

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
from expectations.raw_checks import (
    UNKNOWN_REFERENCE_SHARE,
    day_batches,
    inside_interval,
    key,
    not_after_end,
    volume,
)


def raw_patrons(data_date: date, facts: BatchFacts) -> Suite:
    """Patrons: pseudonymous key unique in the batch, no future sign-ups.

    Names, e-mails and cards are never selected, so they cannot reach Data Docs or results.
    """
    query = (
        "select batch_id, user_key, registered_on, opt_out from raw.patrons "  # noqa: S608
        f"where batch_id in ({day_batches(facts)})"
    )
    return Suite(
        "raw_patrons",
        query,
        volume(facts)
        + key("user_key")
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
        f"where batch_id in ({day_batches(facts)})"
    )
    return Suite(
        "raw_items",
        query,
        volume(facts)
        + key("item_id")
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
        where loans.batch_id in ({day_batches(facts)})
    """  # noqa: S608
    interval = Interval(data_date)
    mostly = 1 - UNKNOWN_REFERENCE_SHARE
    return Suite(
        "raw_loans",
        query,
        volume(facts)
        + key("loan_id")
        + not_after_end(interval, "checkout_at", "returned_at")
        + inside_interval("changed_at", facts, interval)[1:]
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
        where holds.batch_id in ({day_batches(facts)})
    """  # noqa: S608
    interval = Interval(data_date)
    return Suite(
        "raw_holds",
        query,
        volume(facts)
        + key("hold_id")
        + not_after_end(interval, "placed_at", "filled_at", "closed_at")
        + inside_interval("changed_at", facts, interval)[1:]
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
        f"where batch_id in ({day_batches(facts)})"
    )
    interval = Interval(data_date)
    return Suite(
        "raw_purchase_requests",
        query,
        volume(facts)
        + key("request_id")
        + not_after_end(interval, "requested_at", "decided_at")
        + inside_interval("changed_at", facts, interval)[1:]
        + _open_exactly_while("decision_out_of_step", "pending"),
        tables=("raw.purchase_requests",),
    )

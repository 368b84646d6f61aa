"""One suite per raw entity of the gate and events sources, over the rows the day's loads
brought in, and the check that every card the gates saw has a holder (see ``expectations.raw``
for how the initial export is treated)."""

from __future__ import annotations

from datetime import date

import great_expectations.expectations as gxe

from expectations.base import CRITICAL, WARNING, Interval, Suite
from expectations.history import BatchFacts
from expectations.raw_checks import (
    UNKNOWN_REFERENCE_SHARE,
    day_batches,
    has_holder,
    inside_interval,
    key,
    volume,
)
from libcrm.identity import card_holder_join


def raw_gate_passages(data_date: date, facts: BatchFacts) -> Suite:
    """Gate passages: a delivered log is never empty, times inside the day."""
    query = (
        "select batch_id, passed_at from raw.gate_passages "  # noqa: S608
        f"where batch_id in ({day_batches(facts)})"
    )
    empty = (
        "a day the library is closed delivers no gate log; a delivered log with no passages "
        "means the turnstile export broke"
    )
    return Suite(
        "raw_gate_passages",
        query,
        volume(facts, must_not_be_empty=empty)
        + inside_interval("passed_at", facts, Interval(data_date)),
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
            where batch_id in ({day_batches(facts)})
        ) as passages
        {card_holder_join("passages", "card_number")}
    """  # noqa: S608
    return Suite(
        "raw_gate_cards", query, has_holder(), tables=("raw.gate_passages", "identity.cards")
    )


def raw_events(data_date: date, facts: BatchFacts) -> Suite:
    """Events: id unique, an end after the start (starts may be future)."""
    query = (
        "select batch_id, event_id, starts_at, ends_at from raw.events "  # noqa: S608
        f"where batch_id in ({day_batches(facts)})"
    )
    return Suite(
        "raw_events",
        query,
        volume(facts)
        + key("event_id")
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
        where registrations.batch_id in ({day_batches(facts)})
    """  # noqa: S608
    interval = Interval(data_date)
    return Suite(
        "raw_event_registrations",
        query,
        volume(facts)
        + key("registration_id")
        + has_holder()
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

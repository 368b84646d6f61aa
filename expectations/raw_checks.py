"""The expectations the raw suites are made of: the day's batches, volume bands, keys, times
inside the day and card holders, stated once for every source."""

from __future__ import annotations

import great_expectations.expectations as gxe

from expectations.base import CRITICAL, WARNING, Interval, note
from expectations.history import BatchFacts

# A few loans may name a patron or item the ILS exports a day later; more means the ILS
# exports are out of step with each other.
UNKNOWN_REFERENCE_SHARE = 0.02


def day_batches(facts: BatchFacts) -> str:
    """The day's batch ids as SQL list items (``null`` when none: the suite then sees no rows)."""
    return ", ".join(map(str, facts.batches)) or "null"


def volume(facts: BatchFacts, must_not_be_empty: str | None = None) -> list:
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


def inside_interval(column: str, facts: BatchFacts, interval: Interval) -> list:
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


def not_after_end(interval: Interval, *columns: str) -> list:
    """Each of ``columns`` before the interval's end (critical): nothing happens in the future."""
    return [
        gxe.ExpectColumnValuesToBeBetween(
            column=column, max_value=interval.end, strict_max=True, severity=CRITICAL
        )
        for column in columns
    ]


def has_holder() -> list:
    """Every row has the ``user_key`` of its card's holder (critical)."""
    return [gxe.ExpectColumnValuesToNotBeNull(column="user_key", severity=CRITICAL)]


def key(column: str) -> list:
    """``column`` is a key within the batch: never null, never repeated (critical)."""
    return [
        gxe.ExpectColumnValuesToNotBeNull(column=column, severity=CRITICAL),
        gxe.ExpectColumnValuesToBeUnique(column=column, severity=CRITICAL),
    ]

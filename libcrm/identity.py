"""Identity: which raw tables name a patron by card, and which patron held a card when — the
one rule by which rows keyed by card (gate passages, registrations) find their patron in
``identity.cards``, at load time, in validation, retention, the access export and (restated in
SQL by the macro ``with_card_holder``) dbt staging.

A mapping covers a row of batch ``b`` exported for day ``d`` when ``b > from_batch`` and
``d >= from_day`` (set when the card had an earlier holder), and when ``b < to_batch``, or
``d <= to_day``: the day of the patrons export that replaced the card, or the day before when
the card went to someone else. So a replaced card's rows up to its replacement keep their
patron, whether their file is loaded before the replacement, later that day or days late;
a card that changed hands gives the rows of the change day, loaded after it, to its new holder.
"""

from __future__ import annotations

from datetime import date

import psycopg

# Raw tables whose rows name a patron by card (not by patron id), and the card's column.
CARD_KEYED = {"gate_passages": "card_number", "event_registrations": "barcode"}
# Later than any batch: the batch a file about to be loaded gets.
NEXT_BATCH = 2**63 - 1


def _in_force(batch: str, day: str) -> str:
    """SQL condition: the mapping ``cards`` covers a row of batch ``batch`` and export day
    ``day``. The day is asked for last: only rows on a replaced card need it."""
    return (
        f"{batch} > cards.from_batch "
        f"and (cards.from_day is null or {day} >= cards.from_day) "
        f"and (cards.to_batch is null or {batch} < cards.to_batch or {day} <= cards.to_day)"
    )


def card_held(alias: str, card: str) -> str:
    """SQL condition: ``identity.cards as cards`` is the mapping of the card of a row keyed by
    card (``alias.card``) that covers the row, as dbt staging reads it (macro
    ``with_card_holder``)."""
    day = (
        "(select batches.data_date from raw.load_audit as batches "  # noqa: S608
        f"where batches.batch_id = {alias}.batch_id)"
    )
    return f"{alias}.{card} = cards.barcode and {_in_force(f'{alias}.batch_id', day)}"


def card_holder_join(alias: str, card: str) -> str:
    """SQL joining ``identity.cards as cards`` to rows keyed by card: each gets the ``user_key``
    of the card's holder for its batch, or null when the card had none."""
    return f"left join identity.cards as cards on {card_held(alias, card)}"


def card_index(conn: psycopg.Connection, data_date: date) -> frozenset[str]:
    """Return the barcode of every card a patron held on ``data_date``, as far as the patrons
    exports loaded so far tell: the cards a file of that day loaded now may name."""
    rows = conn.execute(
        f"select barcode from identity.cards as cards where {_in_force('%(next)s', '%(day)s')}",  # noqa: S608
        {"next": NEXT_BATCH, "day": data_date},
    )
    return frozenset(barcode for (barcode,) in rows)

"""What the recommender reads from the marts.

Its items are works, not copies: the loans of every copy of a work (``marts.dim_items.work_id``)
count for the work, which is trained on and recommended once; the portal is given one copy of
it that can be lent now (``Catalogue.shown_copies``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import psycopg
from psycopg import sql

from recsys.interactions import SIGNAL_WEIGHTS

log = logging.getLogger(__name__)

# Optional signals beside loans: read when a mart with these columns exists, else skipped.
OPTIONAL_SIGNALS = {
    "purchase_request": (
        "marts",
        "fct_purchase_requests",
        ("user_key", "item_id", "requested_at"),
    ),
}


@dataclass(frozen=True)
class Catalogue:
    """Book loans (plus optional weaker signals), the catalogue and the eligible users; every
    item here is a work, named by its ``work_id``."""

    loan_users: np.ndarray
    loan_items: np.ndarray  # the work of each loan's copy
    loan_times: np.ndarray
    item_ids: np.ndarray  # every work
    item_titles: dict[str, str]  # work -> title
    recommendable: set[str]  # works with a copy that can be lent now
    patrons: dict[str, str]  # user_key -> patron_id: users who did not opt out nor leave
    departments: dict[str, str] = field(default_factory=dict)  # user_key -> department
    item_classes: dict[str, str] = field(default_factory=dict)  # work -> CLC class
    # work -> the copy the portal is given: the smallest item id among those that can be lent
    # now (a work without one is not recommended); a work missing here is shown as itself.
    shown_copies: dict[str, str] = field(default_factory=dict)
    work_of: dict[str, str] = field(default_factory=dict)  # item_id (any copy) -> work
    # Holds and purchase requests on catalogue items: users, items, times, weights.
    signals: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] = field(
        default_factory=lambda: _as_signals([], [], [], [])
    )


def loan_titles(catalogue: Catalogue, before: np.datetime64 | None = None) -> dict[str, list[str]]:
    """The titles each user borrowed (one per loan, in loan order), optionally only those
    borrowed before ``before``."""
    users, items = catalogue.loan_users, catalogue.loan_items
    if before is not None:
        kept = catalogue.loan_times < before
        users, items = users[kept], items[kept]
    titles: dict[str, list[str]] = {}
    for user, item in zip(users, items, strict=True):
        titles.setdefault(str(user), []).append(catalogue.item_titles.get(str(item), ""))
    return titles


def _as_signals(users: list, items: list, times: list, weights: list) -> tuple:
    return (
        np.array(users, dtype=str),
        np.array(items, dtype=str),
        np.array(times, dtype="datetime64[s]"),
        np.array(weights, dtype=float),
    )


def _columns(rows: list[tuple], count: int) -> list[np.ndarray]:
    if not rows:
        return [np.array([], dtype=object) for _ in range(count)]
    return [np.array(column) for column in zip(*rows, strict=True)]


def table_columns(conn: psycopg.Connection, schema: str, table: str) -> set[str]:
    """The column names of ``schema.table``; empty when the table does not exist."""
    rows = conn.execute(
        "select column_name from information_schema.columns "
        "where table_schema = %s and table_name = %s",
        [schema, table],
    ).fetchall()
    return {row[0] for row in rows}


def _read_signals(conn: psycopg.Connection, work_of: dict[str, str]):
    users, items, times, weights = [], [], [], []
    for kind, (schema, table, wanted) in OPTIONAL_SIGNALS.items():
        present = table_columns(conn, schema, table)
        if not present:
            continue
        missing = [name for name in wanted if name not in present]
        if missing:
            log.warning(
                "%s.%s lacks %s: %s signals are not used until the mart has them",
                schema,
                table,
                ", ".join(missing),
                kind,
            )
            continue
        user, item, moment = map(sql.Identifier, wanted)
        query = sql.SQL(
            "select {user}, {item}, {moment} from {table} "
            "where {user} is not null and {item} is not null and {moment} is not null"
        ).format(user=user, item=item, moment=moment, table=sql.Identifier(schema, table))
        rows = conn.execute(query).fetchall()
        rows = [row for row in rows if row[1] in work_of]
        users += [row[0] for row in rows]
        items += [work_of[row[1]] for row in rows]
        times += [row[2] for row in rows]
        weights += [SIGNAL_WEIGHTS[kind]] * len(rows)
    return _as_signals(users, items, times, weights)


def read_catalogue(conn: psycopg.Connection) -> Catalogue:
    """Read book loans, optional purchase requests, works and eligible users."""
    loans = conn.execute(
        "select user_key, item_id, checkout_at from marts.fct_loans where is_book"
    ).fetchall()
    users, items, times = _columns(loans, 3)
    catalogue = conn.execute(
        "select item_id, work_id, title, clc_class, is_recommendable from marts.dim_items "
        "order by item_id"
    ).fetchall()
    work_of = {row[0]: row[1] for row in catalogue}
    works = [row for row in catalogue if row[0] == row[1]]
    shown: dict[str, str] = {}
    for item_id, work_id, _, _, lendable in catalogue:
        if lendable:
            shown.setdefault(work_id, item_id)  # rows come in item order: the smallest id
    # Leavers (graduated students, faculty and staff whose card expired) get nothing: the
    # marts decide who has left (user_profiles.lifecycle_stage), the recommender only reads it.
    patrons = conn.execute(
        """
        select users.user_key, keys.patron_id
        from marts.dim_users as users
        inner join identity.patron_keys as keys on users.user_key = keys.user_key
        inner join marts.user_profiles as profiles on users.user_key = profiles.user_key
        where not users.opt_out and profiles.lifecycle_stage not in ('graduated', 'left')
        """
    ).fetchall()
    departments = conn.execute(
        "select user_key, department from marts.dim_users where department is not null"
    ).fetchall()
    return Catalogue(
        loan_users=users.astype(str),
        # A loan of a copy missing from dim_items counts for that copy alone.
        loan_items=np.array([work_of.get(item, item) for item in items.astype(str)], dtype=str),
        loan_times=times.astype("datetime64[s]"),
        item_ids=np.array([row[0] for row in works], dtype=str),
        item_titles={row[0]: row[2] for row in works},
        recommendable=set(shown),
        patrons=dict(patrons),
        departments=dict(departments),
        item_classes={row[0]: row[3] for row in works if row[3]},
        shown_copies=shown,
        work_of=work_of,
        signals=_read_signals(conn, work_of),
    )

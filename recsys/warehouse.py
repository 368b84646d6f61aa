"""What the recommender reads from the marts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import psycopg


@dataclass(frozen=True)
class Catalogue:
    """Book loans, the item catalogue and the users who may receive recommendations."""

    loan_users: np.ndarray
    loan_items: np.ndarray
    loan_times: np.ndarray
    item_ids: np.ndarray
    item_titles: dict[str, str]
    recommendable: set[str]
    patrons: dict[str, str]  # user_key -> patron_id, for users who did not opt out


def _columns(rows: list[tuple], count: int) -> list[np.ndarray]:
    if not rows:
        return [np.array([], dtype=object) for _ in range(count)]
    return [np.array(column) for column in zip(*rows, strict=True)]


def read_catalogue(conn: psycopg.Connection) -> Catalogue:
    """Read book loans, items and eligible users (with patron ids from ``identity``)."""
    loans = conn.execute(
        "select user_key, item_id, checkout_at from marts.fct_loans where is_book"
    ).fetchall()
    users, items, times = _columns(loans, 3)
    catalogue = conn.execute(
        "select item_id, title, is_recommendable from marts.dim_items"
    ).fetchall()
    patrons = conn.execute(
        """
        select users.user_key, keys.patron_id
        from marts.dim_users as users
        inner join identity.patron_keys as keys on users.user_key = keys.user_key
        where not users.opt_out
        """
    ).fetchall()
    return Catalogue(
        loan_users=users.astype(str),
        loan_items=items.astype(str),
        loan_times=times.astype("datetime64[s]"),
        item_ids=np.array(sorted(row[0] for row in catalogue)),
        item_titles={row[0]: row[1] for row in catalogue},
        recommendable={row[0] for row in catalogue if row[2]},
        patrons=dict(patrons),
    )

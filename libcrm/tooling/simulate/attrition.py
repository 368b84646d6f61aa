"""Items leaving the collection: books lost by a borrower or withdrawn, and item status.

Lost and withdrawn books always had loans before: a lost book's last loan is never returned,
a withdrawn book is taken off the shelf after its last return.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from libcrm.tooling.simulate.catalogue import SimulatedCollection
from libcrm.tooling.simulate.circulation import BOOK_LOAN_DAYS, HOLD_GIVE_UP_DAYS
from libcrm.tooling.simulate.clock import DAY, HOUR, NEVER

LOST_SHARE = 0.02  # of items
WITHDRAWN_SHARE = 0.02  # of items
OVERDUE_BEFORE_LOST_DAYS = (14, 60)  # an unreturned book is written off this long after due
LOST_HOUR = 10  # write-offs and withdrawals are done in the morning
WITHDRAWN_HOUR = 9
CANDIDATES_PER_ITEM = 3  # candidates tried per item to retire (some have no fitting loan)


def retire_items(
    loans: pd.DataFrame,
    catalogue: SimulatedCollection,
    n_days: int,
    later_export_days: tuple[int, ...],
    rng: np.random.Generator,
    loan_days: int = BOOK_LOAN_DAYS,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Lose and withdraw some loaned books (a lost one was due ``loan_days`` after its last
    checkout), adjusting the loans accordingly.

    Parameters
    ----------
    loans : pandas.DataFrame
        Loans sorted by checkout (``patron``, ``item``, ``start``, ``due``, ``returned``).
    catalogue : SimulatedCollection
        The items.
    n_days : int
        Simulated days.
    later_export_days : tuple of int
        Export days after the initial one; each gets one loss and one withdrawal if possible,
        so daily item files show status changes.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    tuple
        The adjusted loans, and per item the time it was lost and withdrawn (``NEVER``).
    """
    loans = loans.copy()
    count = len(catalogue.items)
    lost_at = np.full(count, NEVER, dtype=np.int64)
    withdrawn_at = np.full(count, NEVER, dtype=np.int64)
    loaned = np.unique(loans["item"].to_numpy())
    books = loaned[catalogue.items["kind"].to_numpy()[loaned] == 0]
    pool = rng.permutation(books)
    half = len(pool) // 2

    lost_pool = pool[:half][: CANDIDATES_PER_ITEM * round(LOST_SHARE * count)]
    day = _retirement_days(len(lost_pool), n_days, later_export_days, rng)
    overdue = rng.integers(*OVERDUE_BEFORE_LOST_DAYS, size=len(lost_pool))
    cutoff = day * DAY - (loan_days + overdue) * DAY
    last = _last_loans(loans, lost_pool, cutoff, day, round(LOST_SHARE * count))
    lost_rows = last["row"].to_numpy()
    lost_items = last["item"].to_numpy()
    lost_at[lost_items] = last["day"].to_numpy() * DAY + LOST_HOUR * HOUR
    after_loss = _later_loans(loans, lost_items, loans["start"].to_numpy()[lost_rows] + 1)
    loans.loc[lost_rows, "returned"] = NEVER

    withdraw_pool = pool[half:][: CANDIDATES_PER_ITEM * round(WITHDRAWN_SHARE * count)]
    day = _retirement_days(len(withdraw_pool), n_days, later_export_days, rng)
    moment = day * DAY + WITHDRAWN_HOUR * HOUR
    last = _last_loans(loans, withdraw_pool, moment, day, None)
    back = loans["returned"].to_numpy()[last["row"].to_numpy()]
    last = last.loc[back <= last["day"].to_numpy() * DAY].head(round(WITHDRAWN_SHARE * count))
    withdrawn_items = last["item"].to_numpy()
    withdrawn_at[withdrawn_items] = last["day"].to_numpy() * DAY + WITHDRAWN_HOUR * HOUR
    after_withdrawal = _later_loans(loans, withdrawn_items, withdrawn_at[withdrawn_items])

    keep = ~(after_loss | after_withdrawal)
    return loans.loc[keep].reset_index(drop=True), lost_at, withdrawn_at


def _retirement_days(
    count: int, n_days: int, later_export_days: tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    day = rng.integers(0, n_days, size=count)
    forced = min(count, len(later_export_days))
    day[:forced] = later_export_days[:forced]
    return day


def _last_loans(
    loans: pd.DataFrame,
    candidates: np.ndarray,
    cutoff: np.ndarray,
    day: np.ndarray,
    limit: int | None,
) -> pd.DataFrame:
    """Per candidate item (in candidate order), its last loan starting before ``cutoff``.

    The result has the loan's ``row`` and the candidate's ``item`` and retirement ``day``.
    """
    wanted = pd.DataFrame(
        {"item": candidates, "cutoff": cutoff, "day": day, "rank": np.arange(len(candidates))}
    )
    table = loans[["item", "start"]].reset_index(names="row")
    joined = table.merge(wanted, on="item", how="inner")
    joined = joined.loc[joined["start"] < joined["cutoff"]]
    last = joined.sort_values(["rank", "start"], kind="stable").groupby("rank").tail(1)
    last = last.sort_values("rank", kind="stable")
    return last if limit is None else last.head(limit)


def _later_loans(loans: pd.DataFrame, items: np.ndarray, since: np.ndarray) -> np.ndarray:
    """Mask of loans of ``items`` starting at or after the matching ``since`` time."""
    limit = np.full(int(loans["item"].max()) + 1 if len(loans) else 1, NEVER, dtype=np.int64)
    limit[items] = since
    return loans["start"].to_numpy() >= limit[loans["item"].to_numpy()]


def item_status(
    catalogue: SimulatedCollection,
    loans: pd.DataFrame,
    lost_at: np.ndarray,
    withdrawn_at: np.ndarray,
    moment: int,
) -> np.ndarray:
    """Status of every item at time ``moment`` (seconds)."""
    status = np.where(catalogue.items["reference"].to_numpy(), "not_for_loan", "available")
    status = status.astype(object)
    out = (loans["start"].to_numpy() <= moment) & (loans["returned"].to_numpy() > moment)
    status[loans["item"].to_numpy()[out]] = "on_loan"
    status[lost_at <= moment] = "lost"
    status[withdrawn_at <= moment] = "withdrawn"
    return status


def cancel_holds(
    holds: pd.DataFrame, loans: pd.DataFrame, lost_at: np.ndarray, withdrawn_at: np.ndarray
) -> pd.DataFrame:
    """Settle the holds of copies that were lost or withdrawn.

    No hold is placed on a copy already gone. A hold whose fill no longer happens (the copy
    never came back from its lost loan, or was withdrawn) expires after the usual wait, or is
    cancelled when the copy is written off first. Adds the boolean column ``cancelled``.
    """
    gone = np.minimum(lost_at, withdrawn_at)
    holds = holds.loc[holds["placed"].to_numpy() < gone[holds["item"].to_numpy()]].copy()
    gone_at = gone[holds["item"].to_numpy()]
    lent = pd.MultiIndex.from_arrays([loans["patron"], loans["item"], loans["start"]])
    fill = pd.MultiIndex.from_arrays([holds["patron"], holds["item"], holds["filled"]])
    lost_fill = (holds["filled"].to_numpy() != NEVER) & ~fill.isin(lent)
    open_at_loss = (holds["closed"].to_numpy() > gone_at) | lost_fill
    give_up = holds["placed"].to_numpy() + HOLD_GIVE_UP_DAYS * DAY
    cancelled = open_at_loss & (gone_at < give_up)
    holds.loc[open_at_loss, "filled"] = NEVER
    holds.loc[open_at_loss, "closed"] = np.minimum(gone_at, give_up)[open_at_loss]
    holds["cancelled"] = cancelled
    return holds.reset_index(drop=True)

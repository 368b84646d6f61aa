"""The circulation desk: turns loan wishes into loans where one copy has one borrower at a time.

A busy book goes on hold: the next patron picks it up after the return (the hold is filled)
or gives up after a while (it expires). Rooms, lockers and laptops are handed out from a pool
of the requested kind. Both are sequential by nature, so they run as plain loops over sorted
lists (about a second per million loans).
"""

from __future__ import annotations

import heapq

import numpy as np
import pandas as pd

from libcrm.tooling.simulate.catalogue import SimulatedCollection
from libcrm.tooling.simulate.clock import CLOSES, DAY, HOUR, MINUTE, NEVER, opening_seconds

BOOK_LOAN_DAYS = 30  # due date of a book
NONBOOK_LOAN_SECONDS = 4 * HOUR  # due time of a study room, locker or laptop
REBORROW_SHARE = 0.03  # repeat loans of a book the patron already had that are kept
KEEP_DAYS_MEDIAN = 14  # most books come back well before the due date (leaders too)
KEEP_DAYS_SIGMA = 0.6  # lognormal spread: about one loan in ten comes back late
KEEP_DAYS_MAX = 120
SESSION_MINUTES = (45, 240)  # a study-room or laptop session
OVERTIME_SHARE = 0.05  # sessions overrunning the 4-hour limit
OVERTIME_MINUTES = (240, 300)
MIN_SESSION = 15 * MINUTE  # sessions shorter than this (at closing time) do not happen
HOLD_PICKUP_DAYS = 3  # after a return, the next patron picks the book up within 0..2 days
HOLD_GIVE_UP_DAYS = 21  # a patron waiting longer than this no longer wants the book
# Of the patrons who never got a busy copy, most walked away; this share had placed a hold
# (which expired). Everyone who got the copy later had placed one.
UNSERVED_HOLD_SHARE = 0.2
ROOM_WAIT = 30 * MINUTE  # patrons wait this long for a free room, else go without
ROOM_TURNOVER = 5 * MINUTE  # cleaning time between two sessions

LOAN_COLUMNS = ("patron", "item", "start", "due", "returned")
HOLD_COLUMNS = ("patron", "item", "placed", "filled", "closed")


def settle_loans(
    wishes: pd.DataFrame,
    patrons: pd.DataFrame,
    catalogue: SimulatedCollection,
    end: int,
    rng: np.random.Generator,
    outreach_rng: np.random.Generator | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Serve the wishes at the desk and return the loans that happened and the holds placed.

    Parameters
    ----------
    wishes : pandas.DataFrame
        Loan wishes (``patron``, ``item``, ``kind``, ``start``), optionally with a boolean
        ``outreach`` column marking book wishes prompted by a library's message.
    patrons : pandas.DataFrame
        Patrons with ``is_leader``.
    catalogue : SimulatedCollection
        The items.
    end : int
        End of the simulation in seconds; later returns stay open.
    rng : numpy.random.Generator
        Source of randomness.
    outreach_rng : numpy.random.Generator, optional
        Source of randomness of the ``outreach`` wishes (needed when there are some): the other
        wishes draw from ``rng`` exactly what they would draw without them.

    Returns
    -------
    loans : pandas.DataFrame
        Columns ``patron``, ``item``, ``start``, ``due``, ``returned`` (``NEVER`` while on
        loan), sorted by checkout time; with ``outreach`` (the loan served such a wish) when
        the wishes had that column.
    holds : pandas.DataFrame
        One row per wish that found its copy out: ``patron``, ``item``, ``placed``,
        ``filled`` (the checkout, ``NEVER`` if none) and ``closed`` (the fill or the expiry,
        ``NEVER`` while waiting), sorted by placement time.
    """
    items = catalogue.items
    books = wishes.loc[wishes["kind"].eq(0)]
    acquired = items["acquired_day"].to_numpy()[books["item"].to_numpy()]
    books = books.loc[books["start"].to_numpy() >= (acquired + 1) * DAY]
    books = books.sort_values(["patron", "item", "start"], kind="stable")
    marked = _outreach_mask(books)
    draws = _WishDraws(marked, rng, outreach_rng)
    # An outreach wish repeats any earlier wish of the same book; the other wishes are judged
    # among themselves, as they would be without the outreach.
    repeat = books.duplicated(["patron", "item"]).to_numpy().copy()
    repeat[~marked] = books.loc[~marked].duplicated(["patron", "item"]).to_numpy()
    kept = ~repeat | draws.each(lambda g, rows: g.random(len(rows)) < REBORROW_SHARE)
    books, draws = books.loc[kept], draws.subset(kept)

    typical = np.log(KEEP_DAYS_MEDIAN)
    keep_days = np.clip(
        np.rint(draws.each(lambda g, rows: g.lognormal(typical, KEEP_DAYS_SIGMA, len(rows)))),
        1,
        KEEP_DAYS_MAX,
    ).astype(np.int64)
    pickup_days = draws.each(lambda g, rows: g.integers(0, HOLD_PICKUP_DAYS, len(rows)))
    pickup = pickup_days * DAY + draws.each(lambda g, rows: opening_seconds(g, len(rows)))
    back = draws.each(lambda g, rows: opening_seconds(g, len(rows)))
    # A patron whose card expires (a graduate) picks nothing up after the last valid day.
    leaves = (patrons["expires_day"].to_numpy()[books["patron"].to_numpy()] + 1) * DAY
    book_loans, holds = _queue_books(books, keep_days, pickup, back, leaves, end)
    book_loans["due"] = book_loans["start"] + BOOK_LOAN_DAYS * DAY

    sessions = wishes.loc[wishes["kind"].gt(0)]
    minutes = rng.integers(*SESSION_MINUTES, size=len(sessions))
    overtime = rng.random(len(sessions)) < OVERTIME_SHARE
    minutes[overtime] = rng.integers(*OVERTIME_MINUTES, size=int(overtime.sum()))
    kinds = items["kind"].to_numpy()
    parts = [book_loans]
    for kind in sorted(set(sessions["kind"].tolist())):
        chosen = sessions["kind"].to_numpy() == kind
        pool = np.flatnonzero(kinds == kind)
        parts.append(_serve_pool(sessions.loc[chosen], minutes[chosen] * MINUTE, pool, end))

    loans = pd.concat(parts, ignore_index=True)
    loans.loc[loans["returned"] >= end, "returned"] = NEVER
    loans = loans.sort_values(["start", "patron", "item"], kind="stable", ignore_index=True)
    holds = holds.sort_values(["placed", "patron", "item"], kind="stable", ignore_index=True)
    if "outreach" not in wishes.columns:
        return loans[list(LOAN_COLUMNS)], holds
    loans["outreach"] = loans["outreach"].eq(True).to_numpy()  # sessions: none
    return loans[[*LOAN_COLUMNS, "outreach"]], holds


def placed_holds(holds: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Keep the holds patrons really placed: every filled or waiting one, and a share of the
    wishes that were never served (which expire)."""
    unserved = (holds["filled"].to_numpy() == NEVER) & (holds["closed"].to_numpy() != NEVER)
    kept = ~unserved | (rng.random(len(holds)) < UNSERVED_HOLD_SHARE)
    return holds.loc[kept].reset_index(drop=True)


def _outreach_mask(wishes: pd.DataFrame) -> np.ndarray:
    if "outreach" not in wishes.columns:
        return np.zeros(len(wishes), dtype=bool)
    return wishes["outreach"].to_numpy(dtype=bool)


class _WishDraws:
    """Random draws per wish: ordinary wishes from the desk's stream in their own order,
    outreach wishes from theirs, so adding outreach wishes changes no other wish's draws."""

    def __init__(
        self, marked: np.ndarray, rng: np.random.Generator, outreach_rng: np.random.Generator | None
    ) -> None:
        if marked.any() and outreach_rng is None:
            raise ValueError("outreach wishes need their own random stream (outreach_rng)")
        self.marked, self.rng, self.outreach_rng = marked, rng, outreach_rng

    def subset(self, kept: np.ndarray) -> _WishDraws:
        return _WishDraws(self.marked[kept], self.rng, self.outreach_rng)

    def each(self, draw) -> np.ndarray:
        """``draw(generator, rows)`` for the ordinary rows, then for the outreach rows."""
        ordinary = np.flatnonzero(~self.marked)
        values = draw(self.rng, ordinary)
        if not self.marked.any():
            return values
        prompted = np.flatnonzero(self.marked)
        extra = draw(self.outreach_rng, prompted)
        out = np.empty(len(self.marked), dtype=np.result_type(values, extra))
        out[ordinary], out[prompted] = values, extra
        return out


def _queue_books(
    books: pd.DataFrame,
    keep_days: np.ndarray,
    pickup: np.ndarray,
    return_time: np.ndarray,
    leaves: np.ndarray,
    end: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Serve book wishes copy by copy, in order of wish; busy copies go on hold, and a hold
    whose patron is gone before the pickup (``leaves``) is never filled."""
    order = np.lexsort((books["start"].to_numpy(), books["item"].to_numpy()))
    item = books["item"].to_numpy()[order].tolist()
    wished = books["start"].to_numpy()[order].tolist()
    days, waits = keep_days[order].tolist(), pickup[order].tolist()
    back = return_time[order].tolist()
    gone = leaves[order].tolist()
    give_up = HOLD_GIVE_UP_DAYS * DAY
    kept, starts, returns = [], [], []
    held, filled, closed = [], [], []
    current, free = -1, 0
    for k in range(len(item)):
        if item[k] != current:
            current, free = item[k], -(2**62)
        start = wished[k]
        if start < free:
            # On hold: picked up some days after the return, at a usual hour of the day.
            start = free // DAY * DAY + waits[k]
            if start <= free:
                start += DAY
            held.append(k)
            if start - wished[k] > give_up:
                filled.append(NEVER)
                closed.append(wished[k] + give_up)
                continue
            if start >= end:
                filled.append(NEVER)
                closed.append(NEVER)
                continue
            if start >= gone[k]:
                expiry = wished[k] + give_up
                filled.append(NEVER)
                closed.append(expiry if expiry < end else NEVER)
                continue
            filled.append(start)
            closed.append(start)
        free = (start // DAY + days[k]) * DAY + back[k]
        kept.append(k)
        starts.append(start)
        returns.append(free)
    rows = order[np.asarray(kept, dtype=np.int64)]
    loans = pd.DataFrame(
        {
            "patron": books["patron"].to_numpy()[rows],
            "item": books["item"].to_numpy()[rows],
            "start": np.asarray(starts, dtype=np.int64),
            "returned": np.asarray(returns, dtype=np.int64),
        }
    )
    if "outreach" in books.columns:
        loans["outreach"] = books["outreach"].to_numpy(dtype=bool)[rows]
    waits = order[np.asarray(held, dtype=np.int64)]
    holds = pd.DataFrame(
        {
            "patron": books["patron"].to_numpy()[waits],
            "item": books["item"].to_numpy()[waits],
            "placed": books["start"].to_numpy()[waits],
            "filled": np.asarray(filled, dtype=np.int64),
            "closed": np.asarray(closed, dtype=np.int64),
        }
    )
    return loans, holds


def _serve_pool(
    sessions: pd.DataFrame, length: np.ndarray, pool: np.ndarray, end: int
) -> pd.DataFrame:
    """Hand out the unit of ``pool`` free the longest to each session, in order of wish."""
    order = np.argsort(sessions["start"].to_numpy(), kind="stable")
    wished = sessions["start"].to_numpy()[order].tolist()
    lengths = length[order].tolist()
    free_units = [(-(2**62), int(unit)) for unit in pool]
    heapq.heapify(free_units)
    kept, units, starts, returns = [], [], [], []
    for k in range(len(wished)):
        free, unit = free_units[0]
        start = max(wished[k], free)
        if start - wished[k] > ROOM_WAIT or start >= end:
            continue
        finish = min(start + lengths[k], start // DAY * DAY + CLOSES)
        if finish - start < MIN_SESSION:
            continue
        heapq.heapreplace(free_units, (finish + ROOM_TURNOVER, unit))
        kept.append(k)
        units.append(unit)
        starts.append(start)
        returns.append(finish)
    rows = order[np.asarray(kept, dtype=np.int64)]
    start = np.asarray(starts, dtype=np.int64)
    return pd.DataFrame(
        {
            "patron": sessions["patron"].to_numpy()[rows],
            "item": np.asarray(units, dtype=np.int64),
            "start": start,
            "due": start + NONBOOK_LOAN_SECONDS,
            "returned": np.asarray(returns, dtype=np.int64),
        }
    )

"""A library's message to chosen readers, and what it changes: some of them come to borrow.

The outreach is applied to a world already drawn without it. Each contacted reader (found by
card barcode) answers with probability ``response_rate`` by wishing one book of their taste,
not read before and still in the collection, on a day of the window; the desk serves every
wish again with those added, so a prompted wish can find its copy out and an ordinary wish can
lose its copy to a prompted one. Prompted wishes draw from their own stream, so everything
before the window stays exactly as it was. The simulator knows only who was contacted, nothing
of control groups; the planted effect it reports is the contacted readers' borrowing in the
window with the message minus without it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from libcrm.tooling.simulate.attrition import cancel_holds
from libcrm.tooling.simulate.catalogue import draw_books
from libcrm.tooling.simulate.circulation import placed_holds, settle_loans
from libcrm.tooling.simulate.clock import DAY, NEVER, Timeline, opening_seconds
from libcrm.tooling.simulate.export import World
from libcrm.tooling.simulate.gate import checkout_passages

RESPONSE_RATE = 0.3  # share of contacted readers who come to borrow a book
BOOK_TRIES = 8  # books of their taste a responder considers to find one new to them


@dataclass(frozen=True)
class Outreach:
    """A message sent to some readers, prompting loans during a window.

    Parameters
    ----------
    contacted_barcodes : tuple of str
        Card barcodes of the readers who received the message (unknown ones are ignored).
    first_day, last_day : datetime.date
        The window (both days included) in which responders come to borrow.
    response_rate : float
        Probability that a contacted reader wishes one more book in the window.
    """

    contacted_barcodes: tuple[str, ...]
    first_day: date
    last_day: date
    response_rate: float = RESPONSE_RATE

    def __post_init__(self) -> None:
        object.__setattr__(self, "contacted_barcodes", tuple(self.contacted_barcodes))
        if not 0.0 <= self.response_rate <= 1.0:
            raise ValueError(f"response_rate must lie in [0, 1], got {self.response_rate}")
        if self.first_day > self.last_day:
            raise ValueError(f"outreach window {self.first_day}..{self.last_day} is empty")

    def days(self, timeline: Timeline) -> tuple[int, int]:
        """The window as simulated day indices (first, last), checked against ``timeline``."""
        first = (self.first_day - timeline.history_start).days
        last = (self.last_day - timeline.history_start).days
        if first < 0 or last >= timeline.n_days:
            raise ValueError(
                f"outreach window {self.first_day}..{self.last_day} lies outside the simulated "
                f"days {timeline.history_start}..{timeline.last_day}"
            )
        return first, last


@dataclass(frozen=True)
class PlantedEffect:
    """What the outreach did to the contacted readers (the truth file's ``outreach``).

    Attributes
    ----------
    contacted : int
        Contacted barcodes found among the patrons.
    responded : int
        Contacted readers who wished a book because of the message.
    outreach_loans : int
        Loans that served such a wish (the others were turned down or are still waiting).
    borrowed, would_have_borrowed : int
        Contacted readers with a book loan checked out in the window; with such a loan not
        prompted by the message (what they would have borrowed anyway). Study rooms, lockers
        and laptops do not count: the message is about books.
    """

    first_day: date
    last_day: date
    response_rate: float
    contacted: int
    responded: int
    outreach_loans: int
    borrowed: int
    would_have_borrowed: int

    @property
    def effect(self) -> float:
        """Share of the contacted who borrowed a book in the window minus the share who
        would have."""
        return (self.borrowed - self.would_have_borrowed) / max(self.contacted, 1)

    def as_json(self) -> dict:
        """The fields and the effect, JSON-ready."""
        fields = dataclasses.asdict(self)
        fields["first_day"], fields["last_day"] = (
            d.isoformat() for d in (fields["first_day"], fields["last_day"])
        )
        return {**fields, "effect": round(self.effect, 6)}


def reach_out(
    outreach: Outreach,
    world: World,
    wishes: pd.DataFrame,
    desk: np.random.Generator,
    holds_rng: np.random.Generator,
    rng: np.random.Generator,
) -> tuple[World, PlantedEffect]:
    """The world with the outreach's loans, holds and visits, and the effect it planted.

    Parameters
    ----------
    outreach : Outreach
        Who was contacted, and when they may come.
    world : World
        The world drawn without outreach.
    wishes : pandas.DataFrame
        The loan wishes its desk served.
    desk, holds_rng : numpy.random.Generator
        The desk's and the hold placement's streams in the state they were in when they served
        ``world`` (so the ordinary wishes draw the same again).
    rng : numpy.random.Generator
        The outreach's own stream.

    Returns
    -------
    World, PlantedEffect
        The changed world and the truth about the contacted readers.
    """
    timeline, patrons, catalogue = world.timeline, world.patrons, world.catalogue
    first, last = outreach.days(timeline)
    contacted = np.flatnonzero(patrons["barcode"].isin(outreach.contacted_barcodes).to_numpy())
    retired = (world.lost_at != NEVER) | (world.withdrawn_at != NEVER)
    prompted = _prompted_wishes(
        world, contacted, outreach.response_rate, (first, last), retired, rng
    )
    served = pd.concat([wishes.assign(outreach=False), prompted], ignore_index=True)
    loans, holds = settle_loans(served, patrons, catalogue, timeline.end, desk, rng, world.profile)
    # Lost and withdrawn copies never see a prompted wish, so their loans are the ones the
    # world already has, with the losses and withdrawals applied.
    on_retired = retired[loans["item"].to_numpy()]
    kept = world.loans.loc[retired[world.loans["item"].to_numpy()]].assign(outreach=False)
    loans = pd.concat([loans.loc[~on_retired], kept], ignore_index=True)
    loans = loans.sort_values(["start", "patron", "item"], kind="stable", ignore_index=True)
    holds = cancel_holds(placed_holds(holds, holds_rng), loans, world.lost_at, world.withdrawn_at)
    gate = _with_visits(world.gate, loans, first * DAY, timeline.n_days, rng)

    window = (loans["start"].to_numpy() >= first * DAY) & (
        loans["start"].to_numpy() < (last + 1) * DAY
    )
    book = catalogue.items["kind"].to_numpy()[loans["item"].to_numpy()] == 0
    mine = np.isin(loans["patron"].to_numpy(), contacted) & window & book
    prompted_loan = loans["outreach"].to_numpy()
    effect = PlantedEffect(
        first_day=outreach.first_day,
        last_day=outreach.last_day,
        response_rate=outreach.response_rate,
        contacted=len(contacted),
        responded=len(prompted),
        outreach_loans=int(prompted_loan.sum()),
        borrowed=len(np.unique(loans["patron"].to_numpy()[mine])),
        would_have_borrowed=len(np.unique(loans["patron"].to_numpy()[mine & ~prompted_loan])),
    )
    loans = loans.drop(columns="outreach")
    return dataclasses.replace(world, loans=loans, holds=holds, gate=gate), effect


def _prompted_wishes(
    world: World,
    contacted: np.ndarray,
    response_rate: float,
    window: tuple[int, int],
    retired: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One book wish per responder: a book of their taste that they have not borrowed before
    and that is still in the collection, on a random day of the window at a usual hour."""
    catalogue, n_items = world.catalogue, len(world.catalogue.items)
    responders = contacted[rng.random(len(contacted)) < response_rate]
    count = len(responders)
    day = rng.integers(window[0], window[1] + 1, size=count)
    start = day * DAY + opening_seconds(rng, count)
    before = world.loans.loc[world.loans["start"].to_numpy() < window[0] * DAY]
    read = before["patron"].to_numpy().astype(np.int64) * n_items + before["item"].to_numpy()
    item = np.full(count, -1, dtype=np.int64)
    cluster = world.patrons["cluster"].to_numpy()[responders]
    for code in np.unique(cluster):
        members = np.flatnonzero(cluster == code)
        tries = draw_books(
            catalogue.cluster_cdf[code], catalogue.books, len(members) * BOOK_TRIES, rng
        ).reshape(len(members), BOOK_TRIES)
        known = np.isin(responders[members, None].astype(np.int64) * n_items + tries, read)
        usable = ~retired[tries] & ~known
        first_usable = tries[np.arange(len(members)), usable.argmax(axis=1)]
        # A reader whose every try is gone or read already wishes nothing.
        item[members] = np.where(usable.any(axis=1), first_usable, -1)
    wished = item >= 0
    return pd.DataFrame(
        {
            "patron": responders[wished],
            "item": item[wished],
            "kind": 0,
            "start": start[wished],
            "outreach": True,
        }
    )


def _with_visits(
    gate: pd.DataFrame, loans: pd.DataFrame, since: int, n_days: int, rng: np.random.Generator
) -> pd.DataFrame:
    """The gate log plus a visit for each checkout day from ``since`` on that has none."""
    passed = np.unique(
        gate["patron"].to_numpy().astype(np.int64) * n_days + gate["time"].to_numpy() // DAY
    )
    later = loans.loc[loans["start"].to_numpy() >= since]
    key = later["patron"].to_numpy().astype(np.int64) * n_days + later["start"].to_numpy() // DAY
    added = checkout_passages(later.loc[~np.isin(key, passed)], n_days, rng)
    merged = pd.concat([gate, added], ignore_index=True)
    order = np.lexsort(
        (merged["direction"].to_numpy(), merged["patron"].to_numpy(), merged["time"].to_numpy())
    )
    return merged.iloc[order].reset_index(drop=True)

"""Slice the simulated world into export folders, as the library's systems would drop them.

The folder of the first export day holds the whole history up to the end of that day (an
initial export); each later folder holds the records created or changed on its day. Every
file shows each record once, in its state at the end of the export day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from libcrm.tooling.simulate.attrition import item_status
from libcrm.tooling.simulate.catalogue import SimulatedCollection
from libcrm.tooling.simulate.clock import DAY, NEVER, Timeline
from libcrm.tooling.simulate.profiles import DEFAULT, Profile
from libcrm.tooling.simulate.requests import request_status
from libcrm.tooling.simulate.vocab import GATE_IDS
from libcrm.tooling.simulate.writers import write_csv, write_json_array

PATRON_COLUMNS = [
    "patron_id",
    "barcode",
    "name",
    "email",
    "birth_date",
    "category",
    "department",
    "enrolled_year",
    "registered_on",
    "expires_on",
    "opt_out",
]
ITEM_COLUMNS = [
    "item_id",
    "barcode",
    "title",
    "author",
    "call_number",
    "clc_class",
    "material_type",
    "status",
    "acquired_on",
]
LOAN_COLUMNS = ["loan_id", "patron_id", "item_id", "checkout_at", "due_at", "returned_at"]
HOLD_COLUMNS = ["hold_id", "patron_id", "item_id", "placed_at", "status", "filled_at", "closed_at"]
REQUEST_COLUMNS = [
    "request_id",
    "patron_id",
    "title",
    "author",
    "isbn",
    "clc_class",
    "requested_at",
    "status",
    "decided_at",
    "item_id",
]
GATE_COLUMNS = ["card_number", "timestamp", "direction", "gate_id"]
CHUNK_ROWS = 1_000_000  # rows formatted at once when streaming big files
BEGINNING = np.iinfo(np.int64).min  # lower bound of the initial export's window


@dataclass(frozen=True)
class World:
    """Everything simulated, in internal form (positions and seconds)."""

    timeline: Timeline
    patrons: pd.DataFrame
    catalogue: SimulatedCollection
    loans: pd.DataFrame
    holds: pd.DataFrame
    requests: pd.DataFrame
    lost_at: np.ndarray
    withdrawn_at: np.ndarray
    gate: pd.DataFrame
    events: pd.DataFrame
    registrations: pd.DataFrame
    profile: Profile = DEFAULT


def write_exports(world: World, landing: Path) -> None:
    """Write the eight files of every export day under ``landing``.

    Parameters
    ----------
    world : World
        The simulation.
    landing : pathlib.Path
        Landing folder; ``ils/``, ``gate/`` and ``events/`` folders are created in it.
    """
    timeline = world.timeline
    for position, day in enumerate(timeline.export_days):
        low = BEGINNING if position == 0 else day * DAY
        high = (day + 1) * DAY
        folder = timeline.date_of(day).isoformat()
        ils = landing / "ils" / folder
        write_csv(ils / "patrons.csv", PATRON_COLUMNS, [_patrons(world, day, position == 0)])
        write_csv(ils / "items.csv", ITEM_COLUMNS, [_items(world, day, position == 0)])
        write_csv(ils / "loans.csv", LOAN_COLUMNS, _loans(world, low, high))
        write_csv(ils / "holds.csv", HOLD_COLUMNS, [_holds(world, low, high)])
        write_csv(
            ils / "purchase_requests.csv", REQUEST_COLUMNS, [_purchase_requests(world, low, high)]
        )
        write_csv(landing / "gate" / folder / "gate_log.csv", GATE_COLUMNS, _gate(world, low, high))
        events = landing / "events" / folder
        write_json_array(events / "events.json", "events", _events(world, low, high))
        write_json_array(
            events / "registrations.json", "registrations", _registrations(world, low, high)
        )


def _patrons(world: World, day: int, initial: bool) -> pd.DataFrame:
    patrons = world.patrons
    registered = patrons["registered_day"].to_numpy()
    opt_out = patrons["opt_out_day"].to_numpy()
    if initial:
        chosen = registered <= day
    else:
        chosen = (registered == day) | ((opt_out == day) & (registered <= day))
    rows = patrons.loc[chosen]
    dates = world.timeline.dates
    frame = rows[["patron_id", "barcode", "name", "email", "birth_date", "category"]].copy()
    frame["department"] = rows["department"]
    frame["enrolled_year"] = rows["enrolled_year"]
    frame["registered_on"] = dates(rows["registered_day"].to_numpy())
    frame["expires_on"] = dates(rows["expires_day"].to_numpy())
    frame["opt_out"] = np.where(rows["opt_out_day"].to_numpy() <= day, "true", "false")
    return frame


def _items(world: World, day: int, initial: bool) -> pd.DataFrame:
    items = world.catalogue.items
    status = item_status(
        world.catalogue, world.loans, world.lost_at, world.withdrawn_at, (day + 1) * DAY - 1
    )
    acquired = items["acquired_day"].to_numpy()
    if initial:
        chosen = acquired <= day
    else:
        before = item_status(
            world.catalogue, world.loans, world.lost_at, world.withdrawn_at, day * DAY - 1
        )
        chosen = (acquired == day) | ((status != before) & (acquired < day))
    frame = items.loc[chosen, ITEM_COLUMNS[:7]].copy()
    frame["status"] = status[chosen]
    frame["acquired_on"] = world.timeline.dates(acquired[chosen])
    return frame


def _chunks(rows: np.ndarray) -> Iterator[np.ndarray]:
    for begin in range(0, len(rows), CHUNK_ROWS):
        yield rows[begin : begin + CHUNK_ROWS]


def _loans(world: World, low: int, high: int) -> Iterator[pd.DataFrame]:
    loans, timeline = world.loans, world.timeline
    start = loans["start"].to_numpy()
    returned = loans["returned"].to_numpy()
    chosen = ((start >= low) & (start < high)) | ((returned >= low) & (returned < high))
    patron_ids = world.patrons["patron_id"].to_numpy()
    item_ids = world.catalogue.items["item_id"].to_numpy()
    for rows in _chunks(np.flatnonzero(chosen)):
        shown = np.where(returned[rows] < high, returned[rows], np.iinfo(np.int64).max)
        yield pd.DataFrame(
            {
                "loan_id": [f"L{row + 1:08d}" for row in rows],
                "patron_id": patron_ids[loans["patron"].to_numpy()[rows]],
                "item_id": item_ids[loans["item"].to_numpy()[rows]],
                "checkout_at": timeline.timestamps(start[rows]),
                "due_at": timeline.timestamps(loans["due"].to_numpy()[rows]),
                "returned_at": timeline.timestamps(shown),
            }
        )


def _within(low: int, high: int, *times: np.ndarray) -> np.ndarray:
    """Rows with any of ``times`` in ``[low, high)``: created or changed in the window."""
    return np.logical_or.reduce([(t >= low) & (t < high) for t in times])


def _holds(world: World, low: int, high: int) -> pd.DataFrame:
    holds = world.holds
    placed, filled, closed = (holds[c].to_numpy() for c in ("placed", "filled", "closed"))
    rows = np.flatnonzero(_within(low, high, placed, closed) & (placed < high))
    over = closed[rows] < high
    was_filled = over & (filled[rows] != NEVER)
    status = np.where(holds["cancelled"].to_numpy()[rows], "cancelled", "expired").astype(object)
    status[was_filled] = "filled"
    status[~over] = "waiting"
    timestamps = world.timeline.timestamps
    return pd.DataFrame(
        {
            "hold_id": [f"H{row + 1:08d}" for row in rows],
            "patron_id": world.patrons["patron_id"].to_numpy()[holds["patron"].to_numpy()[rows]],
            "item_id": world.catalogue.items["item_id"].to_numpy()[holds["item"].to_numpy()[rows]],
            "placed_at": timestamps(placed[rows]),
            "status": status,
            "filled_at": timestamps(np.where(was_filled, filled[rows], NEVER)),
            "closed_at": timestamps(np.where(over, closed[rows], NEVER)),
        }
    )


def _purchase_requests(world: World, low: int, high: int) -> pd.DataFrame:
    table = world.requests
    requested, decided, arrived = (table[c].to_numpy() for c in ("requested", "decided", "arrived"))
    rows = np.flatnonzero(_within(low, high, requested, decided, arrived) & (requested < high))
    chosen = table.iloc[rows]
    item_ids = world.catalogue.items["item_id"].to_numpy()
    shown = arrived[rows] < high
    return pd.DataFrame(
        {
            "request_id": [f"R{row + 1:07d}" for row in rows],
            "patron_id": world.patrons["patron_id"].to_numpy()[chosen["patron"].to_numpy()],
            "title": chosen["title"].to_numpy(),
            "author": chosen["author"].to_numpy(),
            "isbn": chosen["isbn"].to_numpy(),
            "clc_class": chosen["clc_class"].to_numpy(),
            "requested_at": world.timeline.timestamps(requested[rows]),
            "status": request_status(chosen, high),
            "decided_at": world.timeline.timestamps(
                np.where(decided[rows] < high, decided[rows], NEVER)
            ),
            "item_id": np.where(shown, item_ids[np.maximum(chosen["item"].to_numpy(), 0)], ""),
        }
    )


def _gate(world: World, low: int, high: int) -> Iterator[pd.DataFrame]:
    time = world.gate["time"].to_numpy()
    first, last = np.searchsorted(time, [low, high], side="left")
    barcodes = world.patrons["barcode"].to_numpy()
    directions = np.asarray(["in", "out"], dtype=object)
    gates = np.asarray(GATE_IDS, dtype=object)
    for rows in _chunks(np.arange(first, last)):
        yield pd.DataFrame(
            {
                "card_number": barcodes[world.gate["patron"].to_numpy()[rows]],
                "timestamp": world.timeline.timestamps(time[rows]),
                "direction": directions[world.gate["direction"].to_numpy()[rows]],
                "gate_id": gates[world.gate["gate"].to_numpy()[rows]],
            }
        )


def _events(world: World, low: int, high: int) -> Iterator[dict]:
    events = world.events
    published = events["published"].to_numpy()
    moved = events["moved_at"].to_numpy()
    chosen = ((published >= low) & (published < high)) | ((moved >= low) & (moved < high))
    rows = events.loc[chosen]
    starts = world.timeline.timestamps(rows["start"].to_numpy())
    ends = world.timeline.timestamps(rows["end"].to_numpy())
    location = np.where(rows["moved_at"] < high, rows["location"], rows["first_location"])
    for k, event in enumerate(rows.itertuples(index=False)):
        yield {
            "id": int(event.event_id),
            "title": event.title,
            "category": {"name": event.category},
            "start": starts[k],
            "end": ends[k],
            "location": location[k],
            "seats": int(event.seats),
            "registration": bool(event.registration),
        }


def _registrations(world: World, low: int, high: int) -> Iterator[dict]:
    table = world.registrations
    registered = table["registered_at"].to_numpy()
    held = table["end"].to_numpy()
    new = (registered >= low) & (registered < high)
    settled = (held >= low) & (held < high) & (registered < high)
    rows = table.loc[new | settled]
    barcodes = world.patrons["barcode"].to_numpy()[rows["patron"].to_numpy()]
    moments = world.timeline.timestamps(rows["registered_at"].to_numpy())
    for k, row in enumerate(rows.itertuples(index=False)):
        over = row.end < high
        attendance = ("attended" if row.attended else "no_show") if over else "unknown"
        rating = int(row.rating) if over and not np.isnan(row.rating) else None
        yield {
            "registration_id": int(row.registration_id),
            "event_id": int(row.event_id),
            "barcode": barcodes[k],
            "registered_at": moments[k],
            "attendance": attendance,
            "rating": rating,
        }

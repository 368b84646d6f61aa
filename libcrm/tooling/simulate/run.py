"""Run a whole simulation: draw the library, write the exports and the truth file."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from libcrm.tooling.simulate.attrition import cancel_holds, retire_items
from libcrm.tooling.simulate.catalogue import SimulatedCollection, simulate_catalogue
from libcrm.tooling.simulate.circulation import placed_holds, settle_loans
from libcrm.tooling.simulate.clock import Timeline
from libcrm.tooling.simulate.events import simulate_events
from libcrm.tooling.simulate.export import World, write_exports
from libcrm.tooling.simulate.gate import simulate_gate
from libcrm.tooling.simulate.influence import choose_leaders, follower_wishes
from libcrm.tooling.simulate.loans import draw_wishes
from libcrm.tooling.simulate.outreach import Outreach, reach_out
from libcrm.tooling.simulate.patrons import CLUSTERS_PER_DEPARTMENT, simulate_patrons
from libcrm.tooling.simulate.requests import simulate_requests
from libcrm.tooling.simulate.scales import Scale, resolve_scale
from libcrm.tooling.simulate.truth import write_truth
from libcrm.tooling.simulate.vocab import DEPARTMENTS

# One random stream per part of the world, so changing one part leaves the others as they were.
# New streams go at the end: earlier ones keep their seeds, so existing exports stay the same.
STREAMS = (
    "patrons",
    "leaders",
    "catalogue",
    "wishes",
    "followers",
    "desk",
    "attrition",
    "gate",
    "events",
    "requests",
    "holds",
    "outreach",
    "influence_events",
)


# Wishes drawn per loan wanted in the first round: the desk turns many down (book already out,
# already read, not yet bought); a second round makes up what is still missing.
WISH_OVERSAMPLE = 1.6
SHORTFALL_TOLERANCE = 0.02  # no second round when within 2 % of the loans wanted


@dataclass(frozen=True)
class SimulationSummary:
    """What a simulation wrote (counts over all export days).

    Attributes
    ----------
    patrons, items : int
        Distinct patrons and items exported.
    loans : int
        Distinct loan ids exported.
    gate_passages : int
        Gate log rows exported.
    events, registrations : int
        Distinct events and registrations exported.
    holds, purchase_requests : int
        Distinct holds and purchase requests exported.
    export_days : tuple of datetime.date
        The export folders written, the initial export first.
    """

    patrons: int
    items: int
    loans: int
    gate_passages: int
    events: int
    registrations: int
    holds: int
    purchase_requests: int
    export_days: tuple[date, ...]

    def line(self) -> str:
        """A one-line human summary."""
        first, last = self.export_days[0], self.export_days[-1]
        return (
            f"{self.patrons} patrons, {self.items} items, {self.loans} loans, "
            f"{self.gate_passages} gate passages, {self.events} events, "
            f"{self.registrations} registrations, {self.holds} holds, "
            f"{self.purchase_requests} purchase requests; export days {first}..{last}"
        )


def simulate(
    landing_dir: Path,
    truth_path: Path,
    scale: str | Scale = "small",
    first_day: date = date(2026, 3, 16),
    days: int = 3,
    seed: int = 42,
    history_start: date = date(2025, 9, 1),
    outreach: Outreach | None = None,
) -> SimulationSummary:
    """Simulate a university library and write its source exports.

    Parameters
    ----------
    landing_dir : pathlib.Path
        Landing folder; ``ils/``, ``gate/`` and ``events/`` day folders are written in it
        (existing files of the same days are replaced).
    truth_path : pathlib.Path
        Where the hidden truth (taste clusters, archetypes, leaders) is written as JSON.
    scale : str or Scale
        ``"small"``, ``"medium"``, ``"large"`` or a custom ``Scale``.
    first_day : datetime.date
        Day of the initial export, holding all history up to its end.
    days : int
        Number of export days; each day after the first holds that day's changes only.
    seed : int
        Random seed: equal arguments give byte-identical files.
    history_start : datetime.date
        First simulated day.
    outreach : Outreach, optional
        A message to some readers during a window: their prompted loans are added, what
        happened before the window is unchanged, and the planted effect goes into the truth
        file under ``outreach``.

    Returns
    -------
    SimulationSummary
        Counts of what was written.
    """
    size = resolve_scale(scale)
    timeline = Timeline(history_start, first_day, days)
    seeds = np.random.SeedSequence(seed).spawn(len(STREAMS))
    streams = {name: np.random.default_rng(s) for name, s in zip(STREAMS, seeds, strict=True)}
    season = timeline.season()
    clusters = len(DEPARTMENTS) * CLUSTERS_PER_DEPARTMENT

    patrons = simulate_patrons(size.patrons, timeline, streams["patrons"])
    patrons = choose_leaders(patrons, streams["leaders"])
    catalogue = simulate_catalogue(
        size.items, clusters, CLUSTERS_PER_DEPARTMENT, timeline, streams["catalogue"]
    )
    wanted = size.loans_per_year * timeline.years
    loans, holds, wishes, desk = _circulate(patrons, catalogue, timeline, wanted, streams)
    loans, lost_at, withdrawn_at = retire_items(
        loans, catalogue, timeline.n_days, timeline.export_days[1:], streams["attrition"]
    )
    holds_rng = copy.deepcopy(streams["holds"])
    holds = cancel_holds(placed_holds(holds, streams["holds"]), loans, lost_at, withdrawn_at)
    requests = simulate_requests(patrons, catalogue, loans, timeline, streams["requests"])
    gate = simulate_gate(
        patrons, loans, season, size.gate_passages_per_year * timeline.years, streams["gate"]
    )
    events, registrations = simulate_events(
        patrons,
        catalogue,
        timeline,
        size.events_per_year,
        size.registrations_per_year,
        streams["events"],
        streams["influence_events"],
    )
    world = World(
        timeline,
        patrons,
        catalogue,
        loans,
        holds,
        requests,
        lost_at,
        withdrawn_at,
        gate,
        events,
        registrations,
    )
    planted = None
    if outreach is not None:
        world, planted = reach_out(outreach, world, wishes, desk, holds_rng, streams["outreach"])
    write_exports(world, Path(landing_dir))
    write_truth(
        Path(truth_path),
        patrons,
        catalogue,
        timeline,
        size.name,
        seed,
        outreach=None if planted is None else planted.as_json(),
    )
    last = timeline.export_days[-1]
    return SimulationSummary(
        patrons=int((patrons["registered_day"] <= last).sum()),
        items=int((catalogue.items["acquired_day"] <= last).sum()),
        loans=len(world.loans),
        gate_passages=len(world.gate),
        events=len(events),
        registrations=len(registrations),
        holds=len(world.holds),
        purchase_requests=len(requests),
        export_days=tuple(timeline.date_of(day) for day in timeline.export_days),
    )


def _circulate(
    patrons: pd.DataFrame,
    catalogue: SimulatedCollection,
    timeline: Timeline,
    wanted: float,
    streams: dict[str, np.random.Generator],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.random.Generator]:
    """Draw loan wishes (own and copied from leaders) and settle about ``wanted`` loans.

    Returns the loans, the holds placed on busy copies, the wishes served and the desk's
    stream as it was before serving them (to serve them again with more wishes)."""
    season = timeline.season()
    own = draw_wishes(patrons, catalogue, season, wanted * WISH_OVERSAMPLE, streams["wishes"])
    for round_ in range(2):
        copies = follower_wishes(patrons, own, catalogue, timeline.n_days, streams["followers"])
        wishes = pd.concat([own, copies], ignore_index=True)
        desk = copy.deepcopy(streams["desk"])
        loans, holds = settle_loans(wishes, patrons, catalogue, timeline.end, streams["desk"])
        shortfall = wanted - len(loans)
        if round_ == 1 or shortfall <= SHORTFALL_TOLERANCE * wanted or len(loans) == 0:
            break
        served = len(loans) / len(wishes)
        more = draw_wishes(patrons, catalogue, season, shortfall / served, streams["wishes"])
        own = pd.concat([own, more], ignore_index=True)
    return loans, holds, wishes, desk

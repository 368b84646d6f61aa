"""How big the simulated library is: population sizes and yearly activity volumes per scale."""

from __future__ import annotations

from dataclasses import dataclass

DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class Scale:
    """Size of a simulated library.

    Patrons and items are head counts; the other volumes are per year of simulated history, so
    the default history (2025-09-01 to 2026-03-18, about 0.55 years) yields roughly half of
    them and a two-year history the double.

    Parameters
    ----------
    name : str
        Label written to the truth file.
    patrons, items : int
        Number of patrons and item copies (all of them, including those registered or acquired
        during the history).
    loans_per_year : int
        Loans checked out per year, books and study rooms/lockers/laptops together.
    gate_passages_per_year : int
        Turnstile passages (in and out rows) per year.
    events_per_year : int
        Library events held per year.
    registrations_per_year : int
        Event registrations per year (capped by each event's seats).
    """

    name: str
    patrons: int
    items: int
    loans_per_year: int
    gate_passages_per_year: int
    events_per_year: int
    registrations_per_year: int


# Calibrated so that the default history gives the volumes of the project brief: small
# ~15,000 loans / ~60 events, medium ~200,000 loans / ~400 events; large gives ~2,000,000 loans,
# ~20 million gate passages and ~150,000 registrations over two academic years
# (history_start=2024-09-01).
SCALES: dict[str, Scale] = {
    "small": Scale(
        name="small",
        patrons=400,
        items=3_000,
        loans_per_year=27_500,
        gate_passages_per_year=104_000,
        events_per_year=110,
        registrations_per_year=2_750,
    ),
    "medium": Scale(
        name="medium",
        patrons=5_000,
        items=40_000,
        loans_per_year=367_000,
        gate_passages_per_year=1_300_000,
        events_per_year=730,
        registrations_per_year=27_500,
    ),
    "large": Scale(
        name="large",
        patrons=50_000,
        items=200_000,
        loans_per_year=1_300_000,
        gate_passages_per_year=13_000_000,
        events_per_year=1_300,
        registrations_per_year=97_000,
    ),
}


def resolve_scale(scale: str | Scale) -> Scale:
    """Return the Scale named ``scale`` (or ``scale`` itself when it already is one).

    Raises
    ------
    ValueError
        When the name is not one of ``SCALES``.
    """
    if isinstance(scale, Scale):
        return scale
    try:
        return SCALES[scale]
    except KeyError:
        known = ", ".join(SCALES)
        raise ValueError(f"unknown scale '{scale}': use one of {known}") from None

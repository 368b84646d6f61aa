"""When patrons are active: a per-patron, per-day intensity and a sampler of active days.

The intensity of patron ``p`` on day ``d`` is the academic-calendar weight of ``d`` times the
patron's lifecycle shape (flat, rising, stopping) while the card is valid. Loans, visits and
event registrations are all drawn from it, so the lifecycle archetypes show in every source.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Cells of the (patrons x days) intensity matrix handled at once; bounds memory to ~100 MB.
CHUNK_CELLS = 4_000_000
# "growing" patrons start at this level (1 is their average) and rise linearly to 2 minus it.
GROWTH_FLOOR = 0.15


def intensity(patrons: pd.DataFrame, season: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Activity of the patrons at positions ``rows`` on every day of ``season``.

    Parameters
    ----------
    patrons : pandas.DataFrame
        Patrons as made by ``simulate_patrons``.
    season : numpy.ndarray
        Calendar weight per day.
    rows : numpy.ndarray
        Positions of the patrons to compute.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(rows), len(season))``; zero where the patron cannot be active.
    """
    days = np.arange(len(season))[None, :]
    return _lifecycle(patrons, rows[:, None], days, len(season)) * season[None, :]


def _lifecycle(
    patrons: pd.DataFrame, rows: np.ndarray, days: np.ndarray, n_days: int
) -> np.ndarray:
    """Lifecycle shape of patrons ``rows`` on ``days`` (broadcast together), zero if inactive."""
    registered = patrons["registered_day"].to_numpy()[rows]
    expires = patrons["expires_day"].to_numpy()[rows]
    lapse = patrons["lapse_day"].to_numpy()[rows]
    growing = patrons["archetype"].to_numpy()[rows] == "growing"
    rise = GROWTH_FLOOR + (1.0 - GROWTH_FLOOR) * 2.0 * days / max(n_days - 1, 1)
    shape = np.where(growing, rise, 1.0)
    valid = (days >= registered) & (days <= expires) & (days < lapse)
    return np.where(valid, shape, 0.0)


def lifecycle_on(patrons: pd.DataFrame, day: int, n_days: int) -> np.ndarray:
    """Every patron's lifecycle shape on ``day`` (no calendar weight), zero if inactive."""
    return _lifecycle(patrons, np.arange(len(patrons)), np.asarray(day), n_days)


def _chunks(count: int, n_days: int) -> list[np.ndarray]:
    size = max(1, CHUNK_CELLS // max(n_days, 1))
    return [np.arange(start, min(start + size, count)) for start in range(0, count, size)]


def activity_mass(patrons: pd.DataFrame, season: np.ndarray) -> np.ndarray:
    """Total intensity of every patron over the simulated days."""
    parts = [
        intensity(patrons, season, rows).sum(axis=1) for rows in _chunks(len(patrons), len(season))
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def is_active(patrons: pd.DataFrame, rows: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Whether each (patron position, day) pair falls inside the patron's active span."""
    return _lifecycle(patrons, rows, days, n_days=1) > 0


def sample_days(
    patrons: pd.DataFrame, season: np.ndarray, counts: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``counts[p]`` days for every patron ``p`` from its intensity (with replacement).

    Returns
    -------
    tuple of numpy.ndarray
        Patron positions and day indices, grouped by patron in position order.
    """
    n_days = len(season)
    patron_parts, day_parts = [], []
    for rows in _chunks(len(patrons), n_days):
        matrix = intensity(patrons, season, rows)
        cumulative = np.cumsum(matrix, axis=1)
        total = cumulative[:, -1]
        wanted = np.where(total > 0, counts[rows], 0)
        if wanted.sum() == 0:
            continue
        safe_total = np.where(total > 0, total, 1.0)
        offset = np.arange(len(rows))[:, None]
        flat = (cumulative / safe_total[:, None] + offset).ravel()
        local = np.repeat(np.arange(len(rows)), wanted)
        position = np.searchsorted(flat, rng.random(len(local)) + local, side="right")
        patron_parts.append(rows[local])
        day_parts.append(np.minimum(position - local * n_days, n_days - 1))
    if not patron_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(patron_parts), np.concatenate(day_parts).astype(np.int64)


def poisson_counts(weights: np.ndarray, total: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson counts per patron with means proportional to ``weights`` summing to ``total``."""
    weight_sum = weights.sum()
    if weight_sum <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    return rng.poisson(weights * (total / weight_sum))

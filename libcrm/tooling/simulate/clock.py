"""Simulated time: the day grid, the academic rhythm, opening hours and timestamp formatting.

Times are int64 seconds since midnight of ``history_start`` (local time, no zone); day ``d``
covers seconds ``[d * DAY, (d + 1) * DAY)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from libcrm.tooling.simulate.profiles import DEFAULT

DAY = 86_400
HOUR = 3_600
MINUTE = 60
OPENS = 8 * HOUR  # the library opens at 08:00 ...
CLOSES = 22 * HOUR  # ... and closes at 22:00
# Stands for "never" (a loan not returned, an item never lost); larger than any real time.
NEVER = np.iinfo(np.int64).max

# Share of the day's activity per opening hour 08..21: a morning, an afternoon and an
# evening peak, as in turnstile counts of most university libraries.
HOURLY_PROFILE = np.array(
    [0.04, 0.08, 0.10, 0.08, 0.05, 0.06, 0.09, 0.10, 0.08, 0.06, 0.06, 0.08, 0.08, 0.04]
)
HOURLY_PROFILE = HOURLY_PROFILE / HOURLY_PROFILE.sum()

# Multipliers of the academic calendar (Chinese universities): holidays empty the library,
# the weeks before exams fill it.
WINTER_HOLIDAY_WEIGHT = 0.15
SUMMER_HOLIDAY_WEIGHT = 0.12
EXAM_WEIGHT = DEFAULT.exam_weight
PUBLIC_HOLIDAY_WEIGHT = 0.45
SATURDAY_WEIGHT = 0.7
SUNDAY_WEIGHT = 0.8


@dataclass(frozen=True)
class Timeline:
    """The simulated period: history from ``history_start``, exports from ``first_day``.

    Parameters
    ----------
    history_start : date
        First simulated day.
    first_day : date
        Day of the initial export (holding all history up to its end).
    days : int
        Number of export days, the initial one included.
    exam_weight : float
        Activity in the weeks before exams relative to a term week (the library's profile).
    """

    history_start: date
    first_day: date
    days: int
    exam_weight: float = EXAM_WEIGHT

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days must be at least 1, got {self.days}")
        if self.history_start > self.first_day:
            raise ValueError(
                f"history_start {self.history_start} is after first_day {self.first_day}: "
                "the initial export needs history before it"
            )

    @property
    def last_day(self) -> date:
        """The last simulated (and exported) day."""
        return self.first_day + timedelta(days=self.days - 1)

    @property
    def n_days(self) -> int:
        """Number of simulated days, ``history_start`` through ``last_day``."""
        return (self.last_day - self.history_start).days + 1

    @property
    def end(self) -> int:
        """The end of the simulation (midnight after ``last_day``), in seconds."""
        return self.n_days * DAY

    @property
    def years(self) -> float:
        """Length of the simulated history in years."""
        return self.n_days / 365.0

    @property
    def export_days(self) -> tuple[int, ...]:
        """Day indices of the export folders, the initial export first."""
        first = (self.first_day - self.history_start).days
        return tuple(range(first, first + self.days))

    def date_of(self, day: int) -> date:
        """The calendar date of day index ``day``."""
        return self.history_start + timedelta(days=int(day))

    def dates(self, days: np.ndarray) -> np.ndarray:
        """Format day indices (any range) as ``YYYY-MM-DD`` strings."""
        start = pd.Timestamp(self.history_start)
        stamps = start + pd.to_timedelta(np.asarray(days, dtype=np.int64), unit="D")
        return np.asarray(stamps.strftime("%Y-%m-%d"), dtype=object)

    def timestamps(self, seconds: np.ndarray) -> np.ndarray:
        """Format times as ``YYYY-MM-DD HH:MM:SS``; ``NEVER`` becomes an empty string."""
        seconds = np.asarray(seconds, dtype=np.int64)
        missing = seconds == NEVER
        safe = np.where(missing, 0, seconds)
        day, second = np.divmod(safe, DAY)
        lowest = int(day.min(initial=0))
        highest = int(day.max(initial=0))
        day_text = self.dates(np.arange(lowest, highest + 1)) + " "
        text = day_text[day - lowest] + _clock_faces()[second]
        text[missing] = ""
        return text

    def season(self, extra_days: int = 0) -> np.ndarray:
        """Relative activity of each day (academic calendar times weekday), one per day."""
        days = pd.date_range(self.history_start, periods=self.n_days + extra_days, freq="D")
        month, mday = days.month.to_numpy(), days.day.to_numpy()
        weight = np.ones(len(days))
        weight[((month == 1) & (mday >= 20)) | (month == 2)] = WINTER_HOLIDAY_WEIGHT
        weight[((month == 7) & (mday >= 10)) | (month == 8)] = SUMMER_HOLIDAY_WEIGHT
        exams = ((month == 12) & (mday >= 15)) | ((month == 1) & (mday < 16))
        exams |= ((month == 6) & (mday >= 10)) | ((month == 7) & (mday < 6))
        weight[exams] = self.exam_weight
        public = ((month == 10) & (mday <= 7)) | ((month == 5) & (mday <= 5))
        weight[public] = PUBLIC_HOLIDAY_WEIGHT
        weekday = days.day_of_week.to_numpy()
        weight[weekday == 5] *= SATURDAY_WEIGHT
        weight[weekday == 6] *= SUNDAY_WEIGHT
        return weight


_FACES: list[np.ndarray] = []


def _clock_faces() -> np.ndarray:
    """All 86,400 ``HH:MM:SS`` strings, built once."""
    if not _FACES:
        second = np.arange(DAY)
        faces = [
            f"{hour:02d}:{minute:02d}:{sec:02d}"
            for hour, minute, sec in zip(
                (second // HOUR).tolist(),
                (second % HOUR // MINUTE).tolist(),
                (second % MINUTE).tolist(),
                strict=True,
            )
        ]
        _FACES.append(np.asarray(faces, dtype=object))
    return _FACES[0]


def opening_seconds(
    rng: np.random.Generator, size: int, profile: np.ndarray = HOURLY_PROFILE
) -> np.ndarray:
    """Draw times of day within opening hours, following an hourly ``profile`` from 08:00."""
    hour = rng.choice(len(profile), size=size, p=profile / profile.sum())
    return OPENS + hour.astype(np.int64) * HOUR + rng.integers(0, HOUR, size=size)

"""Audiences and campaigns of the librarians' workspace, on the pseudonymous marts.

:mod:`~libcrm.crm.audiences` evaluates saved filter definitions; :mod:`~libcrm.crm.campaigns`
launches a campaign on an audience with a control group and measures its goal. The pipeline
calls :func:`nightly` once the night's marts are validated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg

from libcrm.crm import audiences, campaigns, group_counts


@dataclass(frozen=True)
class NightlyResult:
    """What one night recorded."""

    audiences_evaluated: int
    audience_members: int
    campaigns_measured: int


def nightly(conn: psycopg.Connection, night: date) -> NightlyResult:
    """Record every audience's members for ``night`` (and their counts per group), count the
    launched campaigns' members by tonight's groups and measure the campaigns."""
    counts = audiences.evaluate_all(conn, night)
    group_counts.refresh_campaigns(conn)
    results = campaigns.measure_all(conn, night)
    return NightlyResult(len(counts), sum(counts.values()), len(results))

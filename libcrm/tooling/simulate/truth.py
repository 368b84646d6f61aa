"""The hidden truth of a simulation, for judging segments, lifecycles and leader detection.

The pipeline never reads this file; evaluations and tests compare their findings with it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from libcrm.tooling.simulate.catalogue import SimulatedCollection
from libcrm.tooling.simulate.clock import Timeline
from libcrm.tooling.simulate.patrons import CLUSTERS_PER_DEPARTMENT, NO_DAY
from libcrm.tooling.simulate.profiles import DEFAULT
from libcrm.tooling.simulate.vocab import DEPARTMENT_NAMES, SUBJECT_CODES
from libcrm.tooling.simulate.writers import replacing


def write_truth(
    path: Path,
    patrons: pd.DataFrame,
    catalogue: SimulatedCollection,
    timeline: Timeline,
    scale: str,
    seed: int,
    outreach: dict | None = None,
    profile: str = DEFAULT.name,
) -> None:
    """Write the truth file: run parameters, taste clusters and every patron's hidden traits.

    Parameters
    ----------
    path : pathlib.Path
        Destination (JSON).
    patrons : pandas.DataFrame
        Patrons with ``cluster``, ``archetype``, ``is_leader``, ``leader`` and ``lapse_day``.
    catalogue : SimulatedCollection
        Holds each cluster's reading share per CLC subject.
    timeline : Timeline
        The simulated period.
    scale : str
        Scale name.
    seed : int
        Random seed of the run.
    outreach : dict, optional
        The planted effect of an outreach (written as ``outreach`` when given).
    profile : str
        The kind of library simulated (``libcrm.tooling.simulate.profiles``).
    """
    clusters = {
        str(cluster): {
            "department": DEPARTMENT_NAMES[cluster // CLUSTERS_PER_DEPARTMENT],
            "subjects": {
                code: round(float(share), 4)
                for code, share in zip(SUBJECT_CODES, taste, strict=True)
                if share >= 0.01
            },
        }
        for cluster, taste in enumerate(catalogue.subject_taste)
    }
    header = {
        "seed": seed,
        "scale": scale,
        "profile": profile,
        "history_start": timeline.history_start.isoformat(),
        "first_day": timeline.first_day.isoformat(),
        "days": timeline.days,
        "clusters": clusters,
    }
    if outreach is not None:
        header["outreach"] = outreach
    ids = patrons["patron_id"].to_numpy()
    leader = patrons["leader"].to_numpy()
    # The day a lapsing patron stops coming (None for the others).
    stops = [
        timeline.date_of(day).isoformat() if day < NO_DAY else None
        for day in patrons["lapse_day"].to_numpy()
    ]
    lines = []
    for row, (patron_id, cluster, archetype, is_leader) in enumerate(
        zip(ids, patrons["cluster"], patrons["archetype"], patrons["is_leader"], strict=True)
    ):
        record = {
            "taste_cluster": int(cluster),
            "archetype": archetype,
            "opinion_leader": bool(is_leader),
            "leader": None if leader[row] < 0 else str(ids[leader[row]]),
            "stops_on": stops[row],
        }
        lines.append(f"  {json.dumps(str(patron_id))}: {json.dumps(record)}")
    body = json.dumps(header, indent=2)[:-2]
    with replacing(path) as handle:
        handle.write(body + ',\n  "patrons": {\n' + ",\n".join(lines) + "\n  }\n}\n")

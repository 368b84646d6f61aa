"""Value segments judged against the archetypes the simulator planted: each archetype should
land in the segment its behaviour means, although the rule never sees the archetype."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import psycopg
import pytest
import yaml

from libcrm import config, transform
from tests.test_dbt_marts import FIRST_DAY, load_library, separate_dbt_folders, truth_by_user_key

# The segment each planted archetype's behaviour means: steady readers are kept, growing ones
# and newcomers cultivated, occasional ones served simply, and a lapsing reader who stopped
# before the activity window is inactive.
EXPECTED = {
    "steady": "long_term",
    "growing": "growth",
    "new": "growth",
    "occasional": "short_term",
    "lapsing": "inactive",
}
# Agreement measured on the small library after one night (docs/marts.md): seed 42 gives
# steady 0.80, growing 0.67, new 0.64, occasional 0.74, lapsing 0.85; seeds 1-3 give at least
# 0.69, 0.51, 0.49, 0.81 and 0.83. Each floor sits at or just below the lowest of the four
# seeds; the loan-count rule this replaced scores 0.06 on growing and 0.25 on occasional
# readers (seed 42), so it fails here.
MIN_AGREEMENT = {
    "steady": 0.65,
    "growing": 0.5,
    "new": 0.45,
    "occasional": 0.7,
    "lapsing": 0.8,
}


@pytest.fixture(scope="module")
def segments(warehouse_url, tmp_path_factory, pseudonym_key):
    """One night of a small library, built; every profile's segment and the planted truth."""
    truth = load_library(warehouse_url, tmp_path_factory.mktemp("library"), nights=1)
    with separate_dbt_folders(tmp_path_factory.mktemp("dbt")):
        transform.build(FIRST_DAY, warehouse_url)
    with psycopg.connect(warehouse_url) as conn:
        labelled = conn.execute("select user_key, value_segment from marts.user_profiles")
        return {"labelled": labelled.fetchall(), "truth": truth_by_user_key(truth, pseudonym_key)}


def judged(record: dict, window_starts: date) -> bool:
    """Whether the planted archetype says which segment is right: a lapsing reader only once
    they stopped before the activity window."""
    if record["archetype"] != "lapsing":
        return True
    return date.fromisoformat(record["stops_on"]) < window_starts


def test_value_segments_agree_with_the_planted_archetypes(segments):
    days = yaml.safe_load((config.dbt_project_dir() / "dbt_project.yml").read_text())["vars"][
        "activity_window_days"
    ]
    window_starts = FIRST_DAY + timedelta(days=1 - days)
    counts: dict[str, Counter] = {}
    for user_key, segment in segments["labelled"]:
        record = segments["truth"][user_key]
        if judged(record, window_starts):
            counts.setdefault(record["archetype"], Counter())[segment] += 1
    agreement = {
        archetype: found[EXPECTED[archetype]] / sum(found.values())
        for archetype, found in counts.items()
    }
    for archetype, found in sorted(counts.items()):
        print(f"{archetype}: {agreement[archetype]:.3f} {dict(found)}")
    assert set(agreement) == set(EXPECTED)
    assert all(sum(found.values()) >= 30 for found in counts.values())
    low = {a: round(share, 3) for a, share in agreement.items() if share < MIN_AGREEMENT[a]}
    assert not low, f"archetypes below their agreement floor: {low}"

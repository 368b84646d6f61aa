"""Audiences on one simulated night built by dbt: each field against the marts read directly,
ALL / ANY / EXCLUDE, hostile values, opted-out patrons, and the nightly member history."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from libcrm import crm, transform
from libcrm.crm import audiences, campaigns
from tests.test_dbt_marts import FIRST_DAY, load_library, separate_dbt_folders

NIGHT = FIRST_DAY
INJECTION = "x'; drop table marts.user_profiles; --"
GROWTH = {"field": "segment", "op": "in", "value": ["growth", "long_term"]}
UNDERGRADUATE = {"field": "category", "op": "eq", "value": "undergraduate"}
EVENT_GOER = {"field": "events_attended", "op": "gte", "value": 1}


@pytest.fixture(scope="module")
def library(warehouse_url, tmp_path_factory):
    """One night of the small library, built."""
    load_library(warehouse_url, tmp_path_factory.mktemp("library"), nights=1)
    with separate_dbt_folders(tmp_path_factory.mktemp("dbt")):
        transform.build(FIRST_DAY, warehouse_url)
    return warehouse_url


@pytest.fixture
def conn(library):
    with psycopg.connect(library, autocommit=True) as connection:
        yield connection


def _keys(conn, query: str, params=()) -> set[str]:
    return {row[0] for row in conn.execute(query, params)}


def _eligible(conn) -> set[str]:
    return _keys(conn, "select user_key from marts.user_profiles where not opt_out")


def _members(conn, **definition) -> set[str]:
    found = audiences.members(conn, definition)
    assert audiences.count(conn, definition) == len(found)
    return set(found)


# Each field, against the marts read directly (no definition code involved).
FIELD_CASES = [
    (
        {"field": "stage", "op": "eq", "value": "new"},
        "select user_key from marts.user_profiles where lifecycle_stage = 'new'",
    ),
    (
        {"field": "persona", "op": "in", "value": ["avid_reader", "event_goer"]},
        "select user_key from marts.user_profiles where persona in ('avid_reader', 'event_goer')",
    ),
    (
        {"field": "cohort", "op": "gte", "value": 2024},
        "select user_key from marts.dim_users where enrolled_year >= 2024",
    ),
    (
        {"field": "clc_interest", "op": "eq", "value": "I"},
        "select user_key from marts.user_profiles where 'I' = any(string_to_array("
        "top_clc_classes, ','))",
    ),
    (
        {"field": "days_since_active", "op": "lte", "value": 30},
        "select user_key from marts.user_profiles where days_since_last_active <= 30",
    ),
    (
        {"field": "library_hours", "op": "gte", "value": 5},
        "select user_key from marts.user_profiles where library_hours_in_window >= 5",
    ),
    (
        {"field": "opinion_leader", "op": "eq", "value": True},
        "select user_key from marts.opinion_leaders",
    ),
    (
        {"field": "leaderboard_place", "op": "lte", "value": 10},
        "select user_key from marts.leaderboard_quarterly where metric = 'loans' and "
        "quarter_starts_on = (select max(quarter_starts_on) from marts.leaderboard_quarterly "
        "where is_final)",
    ),
    (
        {"field": "leaderboard_place", "op": "lte", "value": 3, "metric": "library_hours"},
        "select user_key from marts.leaderboard_quarterly where metric = 'library_hours' and "
        "rank <= 3 and quarter_starts_on = (select max(quarter_starts_on) "
        "from marts.leaderboard_quarterly where is_final)",
    ),
]


@pytest.mark.parametrize(("condition", "query"), FIELD_CASES, ids=lambda c: str(c)[:40])
def test_each_field_selects_what_the_marts_say(conn, condition, query):
    expected = _keys(conn, query) & _eligible(conn)
    assert expected, "the simulated library should have someone for every case"
    assert _members(conn, all=[condition]) == expected


def test_all_any_and_exclude_combine_as_and_or_and_not(conn):
    growth = _members(conn, all=[GROWTH])
    undergraduates = _members(conn, all=[UNDERGRADUATE])
    goers = _members(conn, all=[EVENT_GOER])
    assert growth and undergraduates and goers
    assert _members(conn, all=[GROWTH, UNDERGRADUATE]) == growth & undergraduates
    assert _members(conn, any=[GROWTH, UNDERGRADUATE]) == growth | undergraduates
    assert _members(conn, all=[GROWTH], exclude=[UNDERGRADUATE, EVENT_GOER]) == (
        growth - undergraduates - goers
    )
    assert _members(conn, all=[EVENT_GOER], any=[GROWTH, UNDERGRADUATE]) == goers & (
        growth | undergraduates
    )
    # Nobody is excluded for a missing value: never-active users stay when excluding the recent.
    recent = _members(conn, all=[{"field": "days_since_active", "op": "lte", "value": 7}])
    assert (
        _members(conn, exclude=[{"field": "days_since_active", "op": "lte", "value": 7}])
        == _eligible(conn) - recent
    )


def test_opted_out_patrons_are_never_members(conn):
    opted_out = _keys(conn, "select user_key from marts.user_profiles where opt_out")
    assert opted_out
    departments = [
        row[0]
        for row in conn.execute(
            "select distinct department from marts.user_profiles where opt_out and department "
            "is not null"
        )
    ]
    for definition in (
        {},
        {"any": [GROWTH, UNDERGRADUATE, EVENT_GOER]},
        {"all": [{"field": "department", "op": "in", "value": departments}]},
        {"exclude": [{"field": "opinion_leader", "op": "eq", "value": True}]},
    ):
        assert not set(audiences.members(conn, definition)) & opted_out


def test_an_injection_in_a_value_is_only_a_value(conn):
    before = conn.execute("select count(*) from marts.user_profiles").fetchone()[0]
    for condition in (
        {"field": "department", "op": "eq", "value": INJECTION},
        {"field": "department", "op": "in", "value": [INJECTION, "a') or true --"]},
        {"field": "clc_interest", "op": "in", "value": [INJECTION]},
    ):
        assert audiences.count(conn, {"all": [condition]}) == 0
        assert audiences.count(conn, {"exclude": [condition]}) == len(_eligible(conn))
    assert conn.execute("select count(*) from marts.user_profiles").fetchone()[0] == before


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"field": "patron_id", "op": "eq", "value": "P1"}, "unknown field 'patron_id'"),
        ({"field": "department; drop table x", "op": "eq", "value": "a"}, "unknown field"),
        ({"field": "stage", "op": "like", "value": "n%"}, "unknown operator 'like'"),
        ({"field": "cohort", "op": "eq", "value": "2024 or 1=1"}, "not a valid integer"),
        ({"field": "stage", "op": "eq", "value": "neww"}, "'neww' is not a lifecycle_stage"),
        ({"field": "segment", "op": "in", "value": "growth"}, "takes a list"),
    ],
)
def test_unknown_fields_operators_and_values_are_refused(conn, condition, message):
    with pytest.raises(ValueError, match=message):
        audiences.count(conn, {"all": [condition]})
    with pytest.raises(ValueError, match=message):
        audiences.create(conn, "bad", {"any": [condition]}, "tester")


def test_every_template_is_a_valid_audience(conn):
    for name, definition in campaigns.TEMPLATES.items():
        assert audiences.count(conn, definition) >= 0, name
    prize = audiences.members(conn, campaigns.TEMPLATES["quarter_prize_list"])
    assert 0 < len(prize) <= 10


def _history(conn, audience_id) -> dict:
    rows = conn.execute(
        "select night, user_key from workspace.audience_members where audience_id = %s",
        [audience_id],
    ).fetchall()
    history: dict = {}
    for night, key in rows:
        history.setdefault(night, set()).add(key)
    return history


def test_nightly_evaluation_is_idempotent_and_keeps_each_night(conn):
    growth = audiences.create(conn, "growth readers", {"all": [GROWTH]}, "tester")
    archived = audiences.create(conn, "old list", {"all": [UNDERGRADUATE]}, "tester")
    audiences.archive(conn, archived)
    audiences.evaluate_all(conn, NIGHT)
    first = _history(conn, growth)
    audiences.evaluate_all(conn, NIGHT)
    assert _history(conn, growth) == first == {NIGHT: _members(conn, all=[GROWTH])}
    assert _history(conn, archived) == {}

    # The next night's marts: one member has left the segment.
    leaver = sorted(first[NIGHT])[0]
    segment = conn.execute(
        "select value_segment from marts.user_profiles where user_key = %s", [leaver]
    ).fetchone()[0]
    next_night = NIGHT + timedelta(days=1)
    conn.execute(
        "update marts.user_profiles set value_segment = 'inactive' where user_key = %s", [leaver]
    )
    try:
        audiences.evaluate_all(conn, next_night)
        audiences.evaluate_all(conn, next_night)
        history = _history(conn, growth)
    finally:
        conn.execute(
            "update marts.user_profiles set value_segment = %s where user_key = %s",
            [segment, leaver],
        )
    assert history == {NIGHT: first[NIGHT], next_night: first[NIGHT] - {leaver}}


def test_nightly_records_audiences_and_measures_launched_campaigns(conn):
    audience_id = audiences.create(conn, "winners", campaigns.TEMPLATES["quarter_prize_list"], "t")
    crm.nightly(conn, NIGHT)
    campaign_id = campaigns.create(
        conn,
        name="prize list",
        audience_id=audience_id,
        goal={"kind": "visit"},
        window_start=NIGHT + timedelta(days=1),
        window_end=NIGHT + timedelta(days=14),
        created_by="t",
        seed=1,
    )
    launched = campaigns.launch(conn, campaign_id, "t", NIGHT)
    result = crm.nightly(conn, NIGHT + timedelta(days=1))
    assert result.campaigns_measured >= 1
    stored = conn.execute(
        "select contacted, control from workspace.campaign_results where campaign_id = %s",
        [campaign_id],
    ).fetchone()
    assert stored == (launched.contacted, launched.control)


def _by_group(conn, query: str, key: int, counts: int = 1) -> dict:
    """Rows of ``query`` as {group: count}, or {group: (count, ...)} for several counts."""
    rows = conn.execute(query, [key]).fetchall()
    if counts == 1:
        return {tuple(row[:-1]): row[-1] for row in rows}
    return {tuple(row[:-counts]): tuple(row[-counts:]) for row in rows}


COUNTED = (
    "select night, department, category, enrolled_year, members from workspace.audience_counts"
    " where audience_id = %s"
)
DIRECT = (
    "select m.night, u.department, u.category, u.enrolled_year, count(*)"
    " from workspace.audience_members as m join marts.dim_users as u using (user_key)"
    " where m.audience_id = %s group by 1, 2, 3, 4"
)
SIZES = (
    "select department, category, enrolled_year, contacted, control"
    " from workspace.campaign_sizes where campaign_id = %s"
)
DIRECT_SIZES = (
    "select u.department, u.category, u.enrolled_year,"
    " count(*) filter (where not m.in_control), count(*) filter (where m.in_control)"
    " from workspace.campaign_members as m join marts.dim_users as u using (user_key)"
    " where m.campaign_id = %s group by 1, 2, 3"
)


def test_members_are_counted_per_group_at_saving_launch_and_every_night(conn):
    audience_id = audiences.create(conn, "growth, by group", {"all": [GROWTH]}, "tester", NIGHT)
    counted = _by_group(conn, COUNTED, audience_id)
    assert counted == _by_group(conn, DIRECT, audience_id)
    assert len(counted) > 3 and sum(counted.values()) == len(_members(conn, all=[GROWTH]))
    next_night = NIGHT + timedelta(days=1)
    for night in (NIGHT, next_night, next_night):  # a night run again gives the same rows
        audiences.evaluate_all(conn, night)
        assert _by_group(conn, COUNTED, audience_id) == _by_group(conn, DIRECT, audience_id)
    assert {key[0] for key in _by_group(conn, COUNTED, audience_id)} == {NIGHT, next_night}

    campaign_id = campaigns.create(
        conn,
        name="growth letter",
        audience_id=audience_id,
        goal={"kind": "visit"},
        window_start=next_night + timedelta(days=1),
        window_end=next_night + timedelta(days=14),
        created_by="t",
        seed=3,
    )
    launched = campaigns.launch(conn, campaign_id, "t", next_night)
    sizes = _by_group(conn, SIZES, campaign_id, 2)
    assert sizes == _by_group(conn, DIRECT_SIZES, campaign_id, 2)
    assert sum(c for c, _ in sizes.values()) == launched.contacted
    assert sum(c for _, c in sizes.values()) == launched.control

    # A member moves to another department in the next night's marts: the sizes follow.
    mover, department = conn.execute(
        "select m.user_key, u.department from workspace.campaign_members as m"
        " join marts.dim_users as u using (user_key) where m.campaign_id = %s"
        " order by m.user_key limit 1",
        [campaign_id],
    ).fetchone()
    conn.execute(
        "update marts.dim_users set department = 'Moved Away' where user_key = %s", [mover]
    )
    try:
        crm.nightly(conn, next_night + timedelta(days=1))
        moved = _by_group(conn, SIZES, campaign_id, 2)
        direct = _by_group(conn, DIRECT_SIZES, campaign_id, 2)
    finally:
        conn.execute(
            "update marts.dim_users set department = %s where user_key = %s", [department, mover]
        )
    assert moved == direct != sizes
    assert any(key[0] == "Moved Away" for key in moved)

"""Audiences: saved definitions evaluated over the pseudonymous marts, members kept per night.

The SQL is composed with :mod:`psycopg.sql` only: column names come from the field whitelist
of :mod:`libcrm.crm.definitions`, never from the definition's text, and every value is a query
parameter, so a filter value is compared, never executed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import psycopg
from psycopg import sql

from libcrm.crm import group_counts
from libcrm.crm.definitions import FIELDS, Condition, Definition, parse

# One row per user who may be a member: the profile and the attributes the fields filter on.
# Opted-out patrons are left out here, so no definition can ever include them. A place is on
# the final board of the last completed quarter (is_final).
BASE = sql.SQL(
    """
    with last_final_board as (
        select boards.metric, boards.user_key, boards.rank
        from marts.leaderboard_quarterly as boards
        where boards.quarter_starts_on = (
            select max(finals.quarter_starts_on) from marts.leaderboard_quarterly as finals
            where finals.is_final
        )
    ),

    base as (
        select
            profiles.user_key,
            profiles.value_segment as segment,
            profiles.lifecycle_stage as stage,
            profiles.persona,
            profiles.department,
            profiles.category,
            users.enrolled_year as cohort,
            string_to_array(profiles.top_clc_classes, ',') as clc_classes,
            profiles.days_since_last_active as days_since_active,
            profiles.library_hours_in_window as library_hours,
            profiles.events_attended,
            leaders.user_key is not null as opinion_leader,
            loans_board.rank as loans_place,
            hours_board.rank as library_hours_place
        from marts.user_profiles as profiles
        inner join marts.dim_users as users on profiles.user_key = users.user_key
        left join marts.opinion_leaders as leaders on profiles.user_key = leaders.user_key
        left join last_final_board as loans_board
            on profiles.user_key = loans_board.user_key and loans_board.metric = 'loans'
        left join last_final_board as hours_board
            on profiles.user_key = hours_board.user_key and hours_board.metric = 'library_hours'
        where not profiles.opt_out and not users.opt_out
    )
    """
)
ARRAY_TYPES = {"text": "text[]", "classes": "text[]", "integer": "integer[]"}


def _condition(condition: Condition, params: list) -> sql.Composable:
    """``condition`` as a boolean expression that is never null (a null attribute is false)."""
    rule = FIELDS[condition.field]
    column_name = f"{condition.board_metric}_place" if rule.kind == "place" else rule.column
    column = sql.Identifier("base", column_name)
    value = sql.Placeholder()
    if rule.kind == "classes":
        expression = (
            sql.SQL("{} = any({})").format(value, column)
            if condition.op == "eq"
            else sql.SQL("{} && {}::text[]").format(column, value)
        )
    elif condition.op == "in":
        array_type = sql.SQL(ARRAY_TYPES[rule.kind])
        expression = sql.SQL("{} = any({}::{})").format(column, value, array_type)
    else:
        operator = {"eq": "=", "gte": ">=", "lte": "<="}[condition.op]
        expression = sql.SQL("{} {} {}").format(column, sql.SQL(operator), value)
    params.append(condition.value)
    return sql.SQL("coalesce({}, false)").format(expression)


def _joined(conditions: list[Condition], operator: str, params: list) -> sql.Composable:
    parts = [_condition(condition, params) for condition in conditions]
    return sql.SQL("({})").format(sql.SQL(f" {operator} ").join(parts))


def _where(definition: Definition, params: list) -> sql.Composable:
    clauses: list[sql.Composable] = []
    if definition.all:
        clauses.append(_joined(definition.all, "and", params))
    if definition.any:
        clauses.append(_joined(definition.any, "or", params))
    if definition.exclude:
        clauses.append(sql.SQL("not {}").format(_joined(definition.exclude, "or", params)))
    return sql.SQL(" and ").join(clauses) if clauses else sql.SQL("true")


def _member_query(definition: Definition) -> tuple[sql.Composed, list]:
    params: list = []
    where = _where(definition, params)
    query = sql.SQL("{} select base.user_key from base where {}").format(BASE, where)
    return query, params


def check_vocabulary(conn: psycopg.Connection, definition: Definition | dict) -> Definition:
    """Check the coded values (segment, stage, persona, category) against
    ``marts.crm_vocabulary``; return the parsed definition.

    Raises
    ------
    ValueError
        Naming the field, the unknown value and the values known.
    """
    definition = parse(definition)
    kinds = {FIELDS[c.field].vocabulary for c in definition.conditions()} - {None}
    if not kinds:
        return definition
    known: dict[str, list[str]] = defaultdict(list)
    for kind, code in conn.execute(
        "select kind, code from marts.crm_vocabulary where kind = any(%s) order by position",
        [sorted(kinds)],
    ):
        known[kind].append(code)
    for condition in definition.conditions():
        kind = FIELDS[condition.field].vocabulary
        unknown = [v for v in condition.values() if kind and v not in known[kind]]
        if unknown:
            raise ValueError(
                f"audience condition on {condition.field!r}: {unknown[0]!r} is not a {kind}; "
                f"known: {', '.join(known[kind])}"
            )
    return definition


def members(conn: psycopg.Connection, definition: Definition | dict) -> list[str]:
    """The user_keys meeting ``definition`` in the marts now, sorted.

    Raises
    ------
    ValueError
        When the definition names an unknown field, operator or coded value.
    """
    query, params = _member_query(check_vocabulary(conn, definition))
    ordered = sql.SQL("{} order by base.user_key").format(query)
    return [row[0] for row in conn.execute(ordered, params)]


def count(conn: psycopg.Connection, definition: Definition | dict) -> int:
    """The number of users meeting ``definition`` in the marts now (the live count).

    Raises
    ------
    ValueError
        When the definition names an unknown field, operator or coded value.
    """
    query, params = _member_query(check_vocabulary(conn, definition))
    counted = sql.SQL("select count(*) from ({}) as members").format(query)
    return conn.execute(counted, params).fetchone()[0]


def create(
    conn: psycopg.Connection,
    name: str,
    definition: Definition | dict,
    created_by: str,
    night: date | None = None,
) -> int:
    """Save an audience; return its ``audience_id``. With ``night`` (the night the marts
    were built for), its members of that night are recorded at once, so a campaign can be
    launched on it before the next nightly evaluation.

    Raises
    ------
    ValueError
        When the name is empty or the definition is not valid.
    """
    if not name or not name.strip():
        raise ValueError("an audience needs a name")
    definition = check_vocabulary(conn, definition)
    audience_id = conn.execute(
        "insert into workspace.audiences (name, definition, created_by) "
        "values (%s, %s::jsonb, %s) returning audience_id",
        [name.strip(), definition.model_dump_json(exclude_none=True), created_by],
    ).fetchone()[0]
    if night is not None:
        _record(conn, audience_id, definition, night)
    return audience_id


def _record(conn: psycopg.Connection, audience_id: int, definition: Definition, night: date) -> int:
    query, params = _member_query(definition)
    insert = sql.SQL(
        "insert into workspace.audience_members (audience_id, night, user_key) "
        "select %s, %s, members.user_key from ({}) as members"
    ).format(query)
    recorded = conn.execute(insert, [audience_id, night, *params]).rowcount
    group_counts.record_audience(conn, audience_id, night)
    return recorded


def archive(conn: psycopg.Connection, audience_id: int) -> None:
    """Stop evaluating an audience every night (its history is kept)."""
    conn.execute(
        "update workspace.audiences set archived = true where audience_id = %s", [audience_id]
    )


def evaluate_all(conn: psycopg.Connection, night: date) -> dict[int, int]:
    """Record the members of every audience not archived for ``night``, the day the marts
    were built for; return the member count per ``audience_id``.

    Delete-and-insert per audience and night in one transaction: running a night again gives
    the same rows, and other nights' rows stay as they were.
    """
    counts: dict[int, int] = {}
    with conn.transaction():
        audiences = conn.execute(
            "select audience_id, definition from workspace.audiences "
            "where not archived order by audience_id"
        ).fetchall()
        for audience_id, stored in audiences:
            conn.execute(
                "delete from workspace.audience_members where audience_id = %s and night = %s",
                [audience_id, night],
            )
            counts[audience_id] = _record(conn, audience_id, parse(stored), night)
    return counts

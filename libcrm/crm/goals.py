"""Campaign goals: what a member must do in the campaign's window, read from the marts' facts.

A goal is stored as jsonb: ``{"kind": "borrow_any"}`` (borrow any book), ``{"kind":
"borrow_clc", "clc_class": "I"}`` (a book of that CLC class), ``{"kind": "visit"}`` (enter
the library) or ``{"kind": "event_signup", "event_id": "E1"}`` (register for that event).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from psycopg import sql
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

Code = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1)]


class _Goal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BorrowAny(_Goal):
    """Borrow any book."""

    kind: Literal["borrow_any"]


class BorrowClc(_Goal):
    """Borrow a book of one CLC main class."""

    kind: Literal["borrow_clc"]
    clc_class: Annotated[Code, StringConstraints(max_length=10)]


class Visit(_Goal):
    """Enter the library (a visit from the gate passages)."""

    kind: Literal["visit"]


class EventSignup(_Goal):
    """Register for one event."""

    kind: Literal["event_signup"]
    event_id: Annotated[Code, StringConstraints(max_length=200)]


Goal = Annotated[BorrowAny | BorrowClc | Visit | EventSignup, Field(discriminator="kind")]
_GOAL = TypeAdapter(Goal)

# Each goal as an exists() over one fact, for the member row ``members``; the two dates bound
# the window (both days included), further placeholders take the goal's own value.
_REACHED = {
    "borrow_any": """exists (
        select from marts.fct_loans as loans
        where loans.user_key = members.user_key and loans.is_book
            and loans.checkout_date between %s and %s)""",
    "borrow_clc": """exists (
        select from marts.fct_loans as loans
        where loans.user_key = members.user_key and loans.is_book
            and loans.checkout_date between %s and %s and loans.clc_class = %s)""",
    "visit": """exists (
        select from marts.fct_visits as visits
        where visits.user_key = members.user_key
            and visits.visit_date between %s and %s)""",
    "event_signup": """exists (
        select from marts.fct_event_attendance as attendance
        where attendance.user_key = members.user_key
            and cast(attendance.registered_at as date) between %s and %s
            and attendance.event_id = %s)""",
}


def parse(goal: Goal | dict) -> Goal:
    """Return ``goal`` checked.

    Raises
    ------
    ValueError
        (a ``pydantic.ValidationError``) for an unknown kind or a missing or extra value.
    """
    if isinstance(goal, BorrowAny | BorrowClc | Visit | EventSignup):
        return goal
    return _GOAL.validate_python(goal)


def reached(goal: Goal, first_day: date, last_day: date) -> tuple[sql.Composable, list]:
    """The boolean SQL expression "member ``members`` reached ``goal`` between the two days"
    and its parameters."""
    params: list = [first_day, last_day]
    if isinstance(goal, BorrowClc):
        params.append(goal.clc_class)
    elif isinstance(goal, EventSignup):
        params.append(goal.event_id)
    return sql.SQL(_REACHED[goal.kind]), params

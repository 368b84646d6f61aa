"""Audience definitions: conditions on a whitelist of fields, combined with ALL, ANY and EXCLUDE.

A definition is data (it is stored as jsonb and comes from a web form), so it is checked here
before any SQL is composed from it: a field must be in ``FIELDS``, an operator among the
field's, and a value of the field's type. Fields name columns of the base relation of
:mod:`libcrm.crm.audiences`; values only ever travel to PostgreSQL as query parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)

MAX_TEXT = 200  # longer than any department name or code; a longer value is a mistake
MAX_LIST = 100  # values in one "in" condition
BOARD_METRICS = ("loans", "library_hours")  # marts.leaderboard_quarterly's metrics

Scalar = StrictBool | StrictInt | StrictFloat | StrictStr
Value = Scalar | list[Scalar]


@dataclass(frozen=True)
class FieldRule:
    """One filterable field: the base relation's column, its value type and its operators."""

    column: str
    kind: Literal["text", "integer", "number", "boolean", "classes", "place"]
    ops: tuple[str, ...]
    vocabulary: str | None = None  # kind in marts.crm_vocabulary the values must belong to
    description: str = ""


FIELDS: dict[str, FieldRule] = {
    "segment": FieldRule("segment", "text", ("eq", "in"), "value_segment", "value segment"),
    "stage": FieldRule("stage", "text", ("eq", "in"), "lifecycle_stage", "lifecycle stage"),
    "persona": FieldRule("persona", "text", ("eq", "in"), "persona", "persona"),
    "department": FieldRule("department", "text", ("eq", "in"), None, "department"),
    "category": FieldRule("category", "text", ("eq", "in"), "patron_category", "patron category"),
    "cohort": FieldRule("cohort", "integer", ("eq", "in", "gte", "lte"), None, "enrolment year"),
    "clc_interest": FieldRule(
        "clc_classes", "classes", ("eq", "in"), None, "one of the top CLC classes borrowed"
    ),
    "days_since_active": FieldRule(
        "days_since_active", "integer", ("eq", "gte", "lte"), None, "days since last active"
    ),
    "library_hours": FieldRule(
        "library_hours", "number", ("gte", "lte"), None, "library hours in the window"
    ),
    "events_attended": FieldRule(
        "events_attended", "integer", ("eq", "gte", "lte"), None, "events attended"
    ),
    "opinion_leader": FieldRule("opinion_leader", "boolean", ("eq",), None, "opinion leader"),
    "leaderboard_place": FieldRule(
        "place", "place", ("lte",), None, "place on the last completed quarter's final board"
    ),
}

_SCALAR_TYPES = {
    "text": (str,),
    "classes": (str,),
    "integer": (int,),
    "place": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _check_scalar(name: str, rule: FieldRule, value: object) -> None:
    allowed = _SCALAR_TYPES[rule.kind]
    # bool is an int in Python: True must not pass for a cohort, nor 1 for a yes/no field.
    if isinstance(value, bool) != (rule.kind == "boolean") or not isinstance(value, allowed):
        raise ValueError(
            f"audience condition on {name!r}: value {value!r} is not a valid {rule.kind} value"
        )
    if isinstance(value, str) and not 0 < len(value) <= MAX_TEXT:
        raise ValueError(
            f"audience condition on {name!r}: a text value has 1 to {MAX_TEXT} characters"
        )
    if rule.kind == "place" and value < 1:
        raise ValueError(f"audience condition on {name!r}: a place is 1 or more, not {value}")


class Condition(BaseModel):
    """One condition: ``field op value`` (``metric`` only for ``leaderboard_place``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: StrictStr
    op: StrictStr
    value: Value
    metric: Literal["loans", "library_hours"] | None = None

    @model_validator(mode="after")
    def _known_field_op_and_value(self) -> Condition:
        rule = FIELDS.get(self.field)
        if rule is None:
            raise ValueError(
                f"audience condition: unknown field {self.field!r}; "
                f"known fields: {', '.join(FIELDS)}"
            )
        if self.op not in rule.ops:
            raise ValueError(
                f"audience condition on {self.field!r}: unknown operator {self.op!r}; "
                f"{self.field} takes {', '.join(rule.ops)}"
            )
        if self.metric is not None and rule.kind != "place":
            raise ValueError(f"audience condition on {self.field!r}: only a place has a metric")
        if self.op == "in":
            if not isinstance(self.value, list) or not 0 < len(self.value) <= MAX_LIST:
                raise ValueError(
                    f"audience condition on {self.field!r}: 'in' takes a list of 1 to "
                    f"{MAX_LIST} values"
                )
            for item in self.value:
                _check_scalar(self.field, rule, item)
        else:
            if isinstance(self.value, list):
                raise ValueError(
                    f"audience condition on {self.field!r}: {self.op!r} takes one value, not a list"
                )
            _check_scalar(self.field, rule, self.value)
        return self

    @property
    def board_metric(self) -> str:
        """The leaderboard a place condition reads (book loans unless said otherwise)."""
        return self.metric or "loans"

    def values(self) -> list[Scalar]:
        """The condition's value(s) as a list."""
        return list(self.value) if isinstance(self.value, list) else [self.value]


class Definition(BaseModel):
    """An audience: members meet every ``all`` condition, at least one ``any`` condition
    (when there are any) and no ``exclude`` condition. Opted-out patrons are never members."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    all: list[Condition] = Field(default_factory=list)
    any: list[Condition] = Field(default_factory=list)
    exclude: list[Condition] = Field(default_factory=list)

    def conditions(self) -> list[Condition]:
        """Every condition of the definition."""
        return [*self.all, *self.any, *self.exclude]


def parse(definition: Definition | dict) -> Definition:
    """Return ``definition`` checked as a :class:`Definition`.

    Raises
    ------
    ValueError
        (a ``pydantic.ValidationError``) naming the unknown field, operator or bad value.
    """
    if isinstance(definition, Definition):
        return definition
    return Definition.model_validate(definition)

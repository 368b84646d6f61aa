"""The audience builder's form: condition rows of the ALL / ANY / EXCLUDE groups to and from an
audience definition of :mod:`libcrm.crm.definitions`, and a definition in plain words.

A row is three strings (field, operator, value) as the browser sends them. Coded values may be
typed as the code or as its name in either language ("growth", "Growth reader", "成长读者");
"is one of" takes values separated by commas. Checking the definition stays with
:func:`libcrm.crm.definitions.parse`; this module only turns text into typed values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import ValidationError
from starlette.datastructures import FormData

from libcrm.crm.definitions import FIELDS, Definition, parse
from libcrm.workspace import i18n, vocabulary
from libcrm.workspace.i18n import N_
from libcrm.workspace.i18n import gettext as _

GROUPS = {
    "all": N_("Readers who meet ALL of these"),
    "any": N_("and at least ONE of these (ANY; leave empty for no such condition)"),
    "exclude": N_("but NONE of these (EXCLUDE)"),
}
# The field select: one entry per field, and one per leaderboard (a place has a metric).
CHOICES = {
    "segment": N_("Value segment"),
    "stage": N_("Lifecycle stage"),
    "persona": N_("Persona"),
    "department": N_("School / department"),
    "category": N_("Patron category"),
    "cohort": N_("Cohort (enrolment year)"),
    "clc_interest": N_("CLC class among the top borrowed"),
    "days_since_active": N_("Days since last active"),
    "library_hours": N_("Library hours in the activity window"),
    "events_attended": N_("Events attended"),
    "opinion_leader": N_("Opinion leader (yes / no)"),
    "leaderboard_place": N_("Place on last quarter's final loans board"),
    "leaderboard_place.library_hours": N_("Place on last quarter's final library-hours board"),
}
# The groups of a saved definition, in plain words.
GROUP_WORDS = {
    "all": N_("All of"),
    "any": N_("At least one of"),
    "exclude": N_("None of"),
}
OPERATORS = {
    "eq": N_("is"),
    "in": N_("is one of"),
    "gte": N_("is at least"),
    "lte": N_("is at most"),
}
EMPTY_ROWS = 3  # rows per group on a new form
MAX_ROWS = 30  # rows per group a form may send
SEPARATORS = re.compile(r"\s*[,，、;；]\s*")
YES = {"yes", "true", "1", "是", "y"}
NO = {"no", "false", "0", "否", "n"}


@dataclass
class Row:
    """One condition row as the form shows it."""

    field: str = ""
    op: str = "eq"
    value: str = ""


def empty_rows() -> dict[str, list[Row]]:
    """A new form: a few empty rows in each group."""
    return {group: [Row() for _row in range(EMPTY_ROWS)] for group in GROUPS}


def rows_of(form: FormData) -> dict[str, list[Row]]:
    """The rows a form sent (``all-0-field``, ``all-0-op``, ``all-0-value``, ...), with one more
    empty row in the group whose "add a row" button was pressed."""
    rows = {}
    for group in GROUPS:
        sent = str(form.get(f"{group}-rows", EMPTY_ROWS))
        count = min(int(sent) if sent.isdigit() else EMPTY_ROWS, MAX_ROWS)
        rows[group] = [
            Row(
                *(
                    str(form.get(f"{group}-{i}-{part}", "")).strip()
                    for part in ("field", "op", "value")
                )
            )
            for i in range(count)
        ]
        if form.get("add") == group and count < MAX_ROWS:
            rows[group].append(Row())
    return rows


def _codes(kind: str) -> dict[str, str]:
    """Every way to write a code of ``kind``: the code, its English and its Chinese name."""
    accepted = {}
    for code, name in vocabulary.NAMES.get(kind, {}).items():
        with i18n.use("zh"):
            chinese = i18n.gettext(name)
        for written in (code, name, chinese):
            accepted[written.lower()] = code
    return accepted


def _typed(field: str, text: str):
    rule = FIELDS[field]
    name = _(CHOICES[field])
    if rule.kind in ("integer", "place"):
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(
                _("%(field)s: “%(value)s” is not a whole number.", field=name, value=text)
            )
        return int(text)
    if rule.kind == "number":
        try:
            return float(text)
        except ValueError:
            raise ValueError(
                _("%(field)s: “%(value)s” is not a number.", field=name, value=text)
            ) from None
    if rule.kind == "boolean":
        if text.lower() in YES | NO:
            return text.lower() in YES
        raise ValueError(_("%(field)s: answer yes or no, not “%(value)s”.", field=name, value=text))
    if rule.kind == "classes":
        return text.upper()
    if rule.vocabulary:
        return _codes(rule.vocabulary).get(text.lower(), text)
    return text


def definition_of(rows: dict[str, list[Row]]) -> Definition:
    """The definition the rows state; rows without a field or a value are left out.

    Raises
    ------
    ValueError
        With a message for the librarian: a value of the wrong type, an unknown field or an
        operator the field does not take.
    """
    groups: dict[str, list[dict]] = {group: [] for group in GROUPS}
    for group, group_rows in rows.items():
        for row in group_rows:
            if not row.field or not row.value:
                continue
            if row.field not in CHOICES:
                raise ValueError(_("Unknown field “%(field)s”.", field=row.field))
            field, _dot, metric = row.field.partition(".")
            texts = SEPARATORS.split(row.value) if row.op == "in" else [row.value]
            values = [_typed(field, text) for text in texts if text]
            if not values:
                continue
            condition = {
                "field": field,
                "op": row.op,
                "value": values if row.op == "in" else values[0],
            }
            if FIELDS[field].kind == "place":
                condition["metric"] = metric or "loans"
            groups[group].append(condition)
    try:
        return parse(groups)
    except ValidationError as error:
        raise ValueError(problem(error)) from None


def problem(error: Exception) -> str:
    """The first message of a validation error, without pydantic's decoration."""
    if isinstance(error, ValidationError):
        return error.errors()[0]["msg"].removeprefix("Value error, ")
    return str(error)


def _shown(field: str, value) -> str:
    rule = FIELDS[field]
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if rule.vocabulary:
        return vocabulary.label(rule.vocabulary, value)
    return str(value)


def rows_from(definition: Definition) -> dict[str, list[Row]]:
    """The form rows of a saved definition or template, values in the current language, with
    one empty row more in each group."""
    rows = {}
    for group in GROUPS:
        rows[group] = []
        for condition in getattr(definition, group):
            key = condition.field
            if FIELDS[key].kind == "place" and condition.board_metric != "loans":
                key = f"{key}.{condition.board_metric}"
            shown = ", ".join(_shown(condition.field, v) for v in condition.values())
            rows[group].append(Row(key, condition.op, shown))
        rows[group].append(Row())
    return rows


def in_words(definition: Definition) -> list[tuple[str, list[str]]]:
    """Each non-empty group's title and its conditions in plain words."""
    words = []
    for group, rows in rows_from(definition).items():
        sentences = [
            f"{_(CHOICES[row.field])} {_(OPERATORS[row.op])} {row.value}"
            for row in rows
            if row.field
        ]
        if sentences:
            words.append((_(GROUP_WORDS[group]), sentences))
    return words

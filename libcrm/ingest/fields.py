"""Column parsers and entity definitions: what a valid source row looks like.

A parser checks one text value and returns it in the canonical text form PostgreSQL's COPY
reads back into the column type, so a row that passes its parsers can never fail the COPY.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from libcrm.identity import CARD_KEYED

TIMESTAMP_SHAPE = "YYYY-MM-DD HH:MM:SS"
TIMESTAMP_CHARS = len("2026-03-16 09:00:00")
TIMESTAMP_SEPARATORS = "-- ::"  # characters 4, 7, 10, 13 and 16 of a timestamp
INTEGER_LIMIT = 2**31  # raw integer columns are PostgreSQL `integer` (32-bit signed)


class RowError(ValueError):
    """A row cannot be loaded; the message names the column and the fix."""


def text(value: str) -> str:
    return value


def integer(value: str) -> str:
    """A whole number that fits a 32-bit column, as plain digits."""
    digits = value[1:] if value[:1] in "+-" else value
    if not (digits.isascii() and digits.isdigit()):
        raise RowError(f"'{value}' is not a whole number")
    number = int(value)
    if not -INTEGER_LIMIT <= number < INTEGER_LIMIT:
        raise RowError(f"'{value}' is out of range for a whole number column")
    return str(number)


def whole_number_in(low: int, high: int) -> Callable[[str], str]:
    """Return a parser accepting only whole numbers from ``low`` to ``high``: a range the
    sources page documents, stated once here."""

    def parse(value: str) -> str:
        number = integer(value)
        if not low <= int(number) <= high:
            raise RowError(f"'{value}' is outside its documented range {low}-{high}")
        return number

    parse.range = (low, high)  # type: ignore[attr-defined]  # for the sources page's test
    return parse


def day(value: str) -> str:
    """A calendar date written YYYY-MM-DD."""
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.isoformat() != value:
        raise RowError(f"'{value}' is not a date (YYYY-MM-DD)")
    return value


def timestamp(value: str) -> str:
    """A local time written YYYY-MM-DD HH:MM:SS, without a zone."""
    # The separators pin the shape (no week dates, zones or fractions); fromisoformat then
    # checks the digits make a real moment.
    if len(value) == TIMESTAMP_CHARS and value[4:17:3] == TIMESTAMP_SEPARATORS:
        try:
            datetime.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise RowError(f"'{value}' is not a local time ({TIMESTAMP_SHAPE})")


def boolean(value: str) -> str:
    lowered = value.lower()
    if lowered in ("true", "t", "1", "yes"):
        return "t"
    if lowered in ("false", "f", "0", "no"):
        return "f"
    raise RowError(f"'{value}' is not true|false")


def one_of(*allowed: str) -> Callable[[str], str]:
    """Return a parser accepting only the given values."""
    accepted = frozenset(allowed)

    def parse(value: str) -> str:
        if value not in accepted:
            raise RowError(f"'{value}' is not {'|'.join(allowed)}")
        return value

    parse.accepted = allowed  # type: ignore[attr-defined]  # lets whole lines be matched at once
    return parse


@dataclass(frozen=True)
class Column:
    """One source column: its name, parser, whether it may be empty, and its raw-table name."""

    name: str
    parse: Callable[[str], str] = text
    required: bool = False
    target: str = ""

    @property
    def column(self) -> str:
        return self.target or self.name


RowParser = Callable[[list[str]], list[str | None]]


@dataclass(frozen=True)
class Entity:
    """A source file and the raw table it lands in.

    ``key`` names the patron: a patron id, pseudonymised into ``user_key`` at load time, or a
    card number (``key_is_card``), kept as it is and resolved through ``identity.cards`` in dbt
    staging. ``unique`` names the columns that identify a record: each may appear only once
    per file (a file holds each record's latest state once).
    """

    source: str
    file_name: str
    table: str
    columns: tuple[Column, ...]
    key: str | None = None
    unique: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def key_is_card(self) -> bool:
        """Whether rows name their patron by card (``libcrm.identity.CARD_KEYED``)."""
        return CARD_KEYED.get(self.table) == self.key

    @property
    def has_user_key(self) -> bool:
        """Whether the raw table has a ``user_key`` column (rows keyed by patron id)."""
        return self.key is not None and not self.key_is_card

    @property
    def targets(self) -> list[str]:
        return [column.column for column in self.columns]

    @property
    def required(self) -> list[str]:
        return [column.name for column in self.columns if column.required]

    def row_parser(self, header: list[str]) -> RowParser:
        """Return a function turning a row laid out as ``header`` into the entity's values.

        Columns absent from ``header`` read as empty; columns of ``header`` the entity does not
        know are ignored. The function raises RowError naming the column and the fix. It is
        generated for the header, one straight line per column, because it runs once per
        input row (tens of millions a night at a large library).
        """
        position = {name: index for index, name in enumerate(header)}
        scope: dict[str, object] = {"RowError": RowError}
        body = []
        for n, column in enumerate(self.columns):
            index = position.get(column.name, -1)
            value = f"v{n}"
            if index < 0:
                body.append(f"    {value} = None")
                if column.required:
                    body.append(f"    raise RowError({column.name + ' is missing'!r})")
                continue
            body.append(f"    {value} = row[{index}].strip()")
            if column.required:
                empty = f"{column.name} is empty but required"
                body.append(f"    if not {value}: raise RowError({empty!r})")
            if column.parse is not text:
                scope[f"check{n}"] = column.parse
                body += [
                    f"    if {value}:",
                    "        try:",
                    f"            {value} = check{n}({value})",
                    "        except RowError as error:",
                    f"            raise RowError({column.name + ' '!r} + str(error)) from None",
                ]
            if not column.required:
                body.append(f"    {value} = {value} or None")
        values = ", ".join(f"v{n}" for n in range(len(self.columns)))
        source = "def parse(row):\n" + "\n".join(body) + f"\n    return [{values}]\n"
        exec(compile(source, f"<row parser of {self.file_name}>", "exec"), scope)  # noqa: S102
        return scope["parse"]  # type: ignore[return-value]

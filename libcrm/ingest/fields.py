"""Column parsers and entity definitions: what a valid source row looks like."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


class RowError(ValueError):
    """A row cannot be loaded; the message names the column and the fix."""


def text(value: str) -> str:
    return value


def integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise RowError(f"'{value}' is not a whole number") from None


def day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RowError(f"'{value}' is not a date (YYYY-MM-DD)") from None


def timestamp(value: str) -> datetime:
    try:
        return datetime.strptime(value, TIMESTAMP_FORMAT)
    except ValueError:
        raise RowError(f"'{value}' is not a local time (YYYY-MM-DD HH:MM:SS)") from None


def boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "t", "1", "yes"):
        return True
    if lowered in ("false", "f", "0", "no"):
        return False
    raise RowError(f"'{value}' is not true|false")


def one_of(*allowed: str) -> Callable[[str], str]:
    """Return a parser accepting only the given values."""

    def parse(value: str) -> str:
        if value not in allowed:
            raise RowError(f"'{value}' is not {'|'.join(allowed)}")
        return value

    return parse


@dataclass(frozen=True)
class Column:
    """One source column: its name, parser, whether it may be empty, and its raw-table name."""

    name: str
    parse: Callable[[str], object] = text
    required: bool = False
    target: str = ""

    @property
    def column(self) -> str:
        return self.target or self.name


@dataclass(frozen=True)
class Entity:
    """A source file and the raw table it lands in.

    ``key`` is the column whose value is pseudonymised into ``user_key``: a patron id, or a
    card number resolved through ``identity.patron_keys``.
    """

    source: str
    file_name: str
    table: str
    columns: tuple[Column, ...]
    key: str | None = None
    key_is_card: bool = False

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def targets(self) -> list[str]:
        return [column.column for column in self.columns]

    def parse(self, record: dict[str, str | None]) -> list[object]:
        """Return the typed values of one record in column order, or raise RowError."""
        values = []
        for column in self.columns:
            raw = record.get(column.name)
            raw = "" if raw is None else str(raw).strip()
            if raw == "":
                if column.required:
                    raise RowError(f"{column.name} is empty but required")
                values.append(None)
                continue
            try:
                values.append(column.parse(raw))
            except RowError as error:
                raise RowError(f"{column.name} {error}") from None
        return values

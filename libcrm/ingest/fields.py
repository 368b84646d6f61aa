"""Column rules and entity definitions: what a valid source row looks like, stated once.

Each kind of column has one ``Rule``. Its parser checks one value and returns it in the
canonical text form PostgreSQL's COPY reads back into the column type, so a row that passes its
parsers can never fail the COPY; its shape is the plain text the bulk paths of ``chunks.py``
may load as it is. Both the row-by-row and the bulk paths follow from these rules.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from libcrm.identity import CARD_KEYED

TIMESTAMP_SHAPE = "YYYY-MM-DD HH:MM:SS"
TIMESTAMP_CHARS = len("2026-03-16 09:00:00")
TIMESTAMP_SEPARATORS = "-- ::"  # characters 4, 7, 10, 13 and 16 of a timestamp
INTEGER_LIMIT = 2**31  # raw integer columns are PostgreSQL `integer` (32-bit signed)
COMMON_YEAR = 2001  # not a leap year: its months have the days every year has


def _days_up_to(last: int) -> str:
    """A regular expression of the two-digit days 01 to ``last``."""
    tens = [f"{ten}[{int(ten == 0)}-{min(last - 10 * ten, 9)}]" for ten in range(last // 10 + 1)]
    return "(?:" + "|".join(tens) + ")"


def _days_of_every_year() -> str:
    """A regular expression of the dates every year has (29 February is left to ``day``)."""
    months: dict[int, list[str]] = {}
    for month in range(1, 13):
        months.setdefault(calendar.monthrange(COMMON_YEAR, month)[1], []).append(f"{month:02d}")
    lengths = [f"(?:{'|'.join(names)})-{_days_up_to(last)}" for last, names in months.items()]
    return "(?!0000)[0-9]{4}-(?:" + "|".join(lengths) + ")"  # there is no year 0


# Shapes of plain text (nothing to strip) that the parser accepts and PostgreSQL reads as the
# parser gives it. A value without the shape is not refused: the parser judges it.
DAY_SHAPE = _days_of_every_year()
CLOCK_SHAPE = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
# No comma, line end or whitespace at either end. Possessive runs of non-space and of space
# (never a line end) match the same text as "[^,\s](?:[^,\n]*[^,\s])?" without backtracking.
TEXT_SHAPE = r"[^,\s]++(?:[^\S\n]++[^,\s]++)*+"
# Up to 9 digits always fits the 32-bit columns; a sign or leading zeros read the same.
INTEGER_SHAPE = r"[+-]?[0-9]{1,9}"
# The spellings of ``boolean`` PostgreSQL also reads (no case folding: it differs for Unicode).
BOOLEAN_SHAPE = r"(?:true|false|True|False|TRUE|FALSE|t|f|T|F|1|0|yes|no)"


class RowError(ValueError):
    """A row cannot be loaded; the message names the column and the fix."""


@dataclass(frozen=True)
class Rule:
    """What one kind of column accepts.

    Attributes
    ----------
    parse : callable
        Checks one value (stripped, not empty) and returns its canonical text, or raises
        RowError saying why not. Every path calls it, or trusts ``shape``.
    shape : str or None
        A regular expression of plain text that ``parse`` accepts and PostgreSQL reads as
        ``parse`` gives it; None when there is none (no whole-line match in bulk).
    repeats : bool
        Whether values repeat enough that the bulk paths parse each distinct one once, rather
        than match the shape and parse the rest.
    """

    parse: Callable[[str], str]
    shape: str | None = None
    repeats: bool = False

    def __call__(self, value: str) -> str:
        """Parse one value: the rule used as a parser."""
        return self.parse(value)


def _text(value: str) -> str:
    return value


def _integer(value: str) -> str:
    """A whole number that fits a 32-bit column, as plain digits."""
    digits = value[1:] if value[:1] in "+-" else value
    if not (digits.isascii() and digits.isdigit()):
        raise RowError(f"'{value}' is not a whole number")
    number = int(value)
    if not -INTEGER_LIMIT <= number < INTEGER_LIMIT:
        raise RowError(f"'{value}' is out of range for a whole number column")
    return str(number)


def whole_number_in(low: int, high: int) -> Rule:
    """The rule of whole numbers from ``low`` to ``high``: a range the sources page documents,
    stated once here."""

    def parse(value: str) -> str:
        number = _integer(value)
        if not low <= int(number) <= high:
            raise RowError(f"'{value}' is outside its documented range {low}-{high}")
        return number

    parse.range = (low, high)  # type: ignore[attr-defined]  # for the sources page's test
    return Rule(parse, repeats=True)


def _day(value: str) -> str:
    """A calendar date written YYYY-MM-DD."""
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.isoformat() != value:
        raise RowError(f"'{value}' is not a date (YYYY-MM-DD)")
    return value


def _timestamp(value: str) -> str:
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


def _boolean(value: str) -> str:
    lowered = value.lower()
    if lowered in ("true", "t", "1", "yes"):
        return "t"
    if lowered in ("false", "f", "0", "no"):
        return "f"
    raise RowError(f"'{value}' is not true|false")


text = Rule(_text, TEXT_SHAPE)
integer = Rule(_integer, INTEGER_SHAPE, repeats=True)
day = Rule(_day, DAY_SHAPE, repeats=True)
timestamp = Rule(_timestamp, f"{DAY_SHAPE} {CLOCK_SHAPE}")
boolean = Rule(_boolean, BOOLEAN_SHAPE, repeats=True)


def one_of(*allowed: str) -> Rule:
    """The rule of a column holding one of the given values."""
    accepted = frozenset(allowed)

    def parse(value: str) -> str:
        if value not in accepted:
            raise RowError(f"'{value}' is not {'|'.join(allowed)}")
        return value

    return Rule(parse, "|".join(map(re.escape, allowed)), repeats=True)


def in_vocabulary(kind: str, codes: tuple[str, ...], fix: str) -> Rule:
    """The rule of a column holding a code of a library's vocabulary ``kind`` (the documented
    codes and the library's additions); ``fix`` says where to map or add another."""
    accepted = frozenset(codes)

    def parse(value: str) -> str:
        if value not in accepted:
            raise RowError(f"'{value}' is not in the {kind} vocabulary ({'|'.join(codes)}): {fix}")
        return value

    return Rule(parse, "|".join(map(re.escape, codes)), repeats=True)


@dataclass(frozen=True)
class Column:
    """One source column: its name, rule, whether it may be empty, and its raw-table name.

    ``vocabulary`` names the open vocabulary (a kind of ``crm_vocabulary``) whose codes the
    column holds: the documented ones, which ``rule`` accepts, and those a library adds.
    """

    name: str
    rule: Rule = text
    required: bool = False
    target: str = ""
    vocabulary: str = ""

    @property
    def column(self) -> str:
        return self.target or self.name

    def read(self, value: str | None) -> str | None:
        """The column's value from its text (None: the file lacks the column; empty: NULL).

        Raises
        ------
        RowError
            Naming the column and why its value cannot be loaded.
        """
        if value is None or not (value := value.strip()):
            if self.required:
                problem = "is missing" if value is None else "is empty but required"
                raise RowError(f"{self.name} {problem}")
            return None
        try:
            return self.rule.parse(value)
        except RowError as error:
            raise RowError(f"{self.name} {error}") from None


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
        know are ignored. The function raises RowError naming the column and the fix.
        """
        position = {name: index for index, name in enumerate(header)}
        reads = [(column.read, position.get(column.name)) for column in self.columns]

        def parse(row: list[str]) -> list[str | None]:
            return [read(None if index is None else row[index]) for read, index in reads]

        return parse

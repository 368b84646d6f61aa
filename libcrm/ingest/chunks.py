"""Judge a chunk of rows at once, without a Python step per row.

A chunk is accepted only when every value is certainly valid: the row parsers of
``fields.py`` would accept it and PostgreSQL reads it into the same value, no key repeats an
earlier one of the file, and every card is known. Then it becomes COPY text in a few
calls that run in C: plain lines laid out as documented are matched whole and passed on as
they are; other rows are checked column by column. Any chunk with a doubtful value is
declined and judged row by row, which finds and words the reasons; so a file loads exactly
as it would row by row, only faster.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import repeat

from libcrm.ingest.fields import Column, Entity, RowError, text
from libcrm.ingest.keys import Keys

# Rows go to COPY as text with ',' between values (``COPY_OPTIONS``): a plain export line is then
# already a valid COPY line, and PostgreSQL reads this format faster than CSV. Values are never
# empty (the parsers turn empty into NULL), so the empty string can stand for NULL.
COPY_OPTIONS = "format text, delimiter ',', null ''"
NULL = ""
# Characters a value must escape with a backslash in COPY's text format, whether ',' (rows of
# raw) or a tab (rows of quarantine) separates the values; ``copy_escape`` does.
NEEDS_ESCAPE = re.compile(r"[,\t\\\r\n]")
COPY_ESCAPES = str.maketrans({",": "\\,", "\t": "\\t", "\\": "\\\\", "\n": "\\n", "\r": "\\r"})
# Distinct values remembered per column; past this a column is rarely repetitive enough to
# gain, and the memory is given back.
MEMO_LIMIT = 100_000


def copy_escape(value: str) -> str:
    """``value`` as one field of COPY's text format, read back exactly as it is."""
    return value.translate(COPY_ESCAPES) if NEEDS_ESCAPE.search(value) else value


class _Plan:
    """How one entity column is judged: where it sits in the header and what checks it."""

    def __init__(self, column: Column, index: int) -> None:
        self.index, self.required, self.rule = index, column.required, column.rule
        self.memo: dict[str, str] | None = {} if column.rule.repeats else None
        if self.memo is not None and not column.required:
            self.memo[""] = NULL
        # Other columns' values (stripped) have the rule's shape, or go to its parser.
        shape = column.rule.shape
        checked = column.rule is not text and self.memo is None and shape is not None
        self.shape = re.compile(shape) if checked else None
        self.shapes = re.compile(f"(?:{shape})?(?:\n(?:{shape})?)*") if checked else None


def line_finder(entity: Entity, captured: list[int]) -> re.Pattern[str] | None:
    """A pattern whose ``findall`` gives one match per line laid out as ``entity.names``,
    ended by ``\\n``, whose every value has its rule's shape; a line that does not gets none.

    Each match captures the values of the columns at ``captured`` (in that order). None when a
    column's rule has no shape.
    """
    values = []
    for index, column in enumerate(entity.columns):
        if column.rule.shape is None:
            return None
        value = f"(?:{column.rule.shape})" + ("" if column.required else "?")
        values.append(f"({value})" if index in captured else value)
    return re.compile("^" + ",".join(values) + "\n", re.MULTILINE)


class ChunkJudge:
    """Turns whole chunks of a file's rows into COPY text for ``raw.<entity>``.

    Parameters
    ----------
    entity : Entity
        What the rows are.
    header : list of str
        The file's columns, in the order of each row's values.
    keys : Keys
        The ``user_key`` of the rows (their cards checked), as the row-by-row path gets it.
    seen : list of dict
        Per unique column of ``entity``, value -> line it was loaded from (shared with the
        row-by-row path).
    """

    def __init__(
        self,
        entity: Entity,
        header: list[str],
        keys: Keys,
        seen: list[dict[str, int]],
    ) -> None:
        position = {name: index for index, name in enumerate(header)}
        self.plans = [_Plan(column, position.get(column.name, -1)) for column in entity.columns]
        self.unique = [
            (entity.names.index(column), found)
            for column, found in zip(entity.unique, seen, strict=True)
        ]
        self.key = entity.names.index(entity.key) if entity.key else -1
        self.keys = keys
        # Columns whose values the judge needs: unique ones and the key.
        self.captured = sorted({index for index, _ in self.unique} | ({self.key} - {-1}))
        documented = header == entity.names
        self.lines = line_finder(entity, self.captured) if documented else None

    def plain_text(
        self,
        batch_id: int,
        lines: Sequence[int],
        texts: Sequence[str],
        ended: str | None = None,
    ) -> str | None:
        """COPY text of plain lines laid out as documented, passed on as they are; None when
        a line does not certainly hold valid values. ``ended`` is the lines joined, each
        ended by ``\\n``, when the caller has it."""
        if self.lines is None:
            return None
        if ended is None:
            ended = "\n".join(texts) + "\n"
        if "\\" in ended:  # COPY's text format would read a backslash as an escape
            return None
        count = len(lines)
        matched = self.lines.findall(ended)  # one match per valid line
        if len(matched) != count:
            return None
        if len(self.captured) <= 1:  # findall gives the captured value, or the whole line
            columns = dict.fromkeys(self.captured, matched)
        else:
            columns = dict(zip(self.captured, map(list, zip(*matched, strict=True)), strict=True))
        for index, found in self.unique:
            if len(set(columns[index])) != count or not found.keys().isdisjoint(columns[index]):
                return None
        fields = [repeat(str(batch_id)), map(str, lines)]
        if self.key >= 0 and not self._add_keys(fields, columns[self.key]):
            return None
        for index, found in self.unique:
            found.update(zip(columns[index], lines, strict=True))
        rows_out = zip(*fields, texts, strict=False)  # the batch id repeats without end
        return "\n".join(map(",".join, rows_out)) + "\n"

    def copy_text(
        self, batch_id: int, lines: tuple[int, ...], by_header: list[list[str]]
    ) -> str | None:
        """COPY text of the rows at ``lines`` (their values given column by column, in header
        order), or None to have them judged row by row."""
        count = len(lines)
        values = []
        for plan in self.plans:
            if plan.index < 0:
                if plan.required:
                    return None
                values.append([NULL] * count)
                continue
            column = self._column(plan, by_header[plan.index], count)
            if column is None:
                return None
            values.append(column)
        for index, found in self.unique:
            column = values[index]
            if len(set(column)) != count or not found.keys().isdisjoint(column):
                return None
        fields = [repeat(str(batch_id)), map(str, lines)]
        if self.key >= 0 and not self._add_keys(fields, values[self.key]):
            return None
        for index, found in self.unique:
            found.update(zip(values[index], lines, strict=True))
        rows_out = zip(*fields, *values, strict=False)  # the batch id repeats without end
        return "\n".join(map(",".join, rows_out)) + "\n"

    def _column(self, plan: _Plan, raw: tuple[str, ...], count: int) -> list[str] | None:
        """One column's values as COPY text, or None when a value needs a closer look."""
        if NEEDS_ESCAPE.search("".join(raw)):
            return None
        column = list(map(str.strip, raw))
        if plan.required and "" in column:
            return None
        if plan.memo is not None:
            return _memoised(plan.memo, plan.rule.parse, column)
        if plan.shapes is not None and not plan.shapes.fullmatch("\n".join(column)):
            return _parsed_without_shape(plan, column)
        if "" in column:
            column = [value or NULL for value in column]
        return column

    def _add_keys(self, fields: list, column: list[str]) -> bool:
        """Add the ``user_key`` field of a patron-keyed column; False when a card-keyed column
        holds a card no patron held on the file's day."""
        try:
            users = self.keys.of(column)
        except RowError:
            return False
        if users is not None:
            fields.append(users)
        return True


def _parsed_without_shape(plan: _Plan, column: list[str]) -> list[str] | None:
    """The column as it is when each value lacking the rule's shape is one its parser gives
    back unchanged (29 February of a leap year); None when one is not."""
    for value in {value for value in column if value and not plan.shape.fullmatch(value)}:
        try:
            if plan.rule.parse(value) != value:
                return None
        except RowError:
            return None
    return [value or NULL for value in column]


def _memoised(
    memo: dict[str, str], parse: Callable[[str], str], column: list[str]
) -> list[str] | None:
    """Parse each distinct value once; None when one of them is not valid."""
    fresh = set(column).difference(memo)
    if len(memo) + len(fresh) > MEMO_LIMIT:
        null = memo.get("")
        memo.clear()
        if null is not None:
            memo[""] = null
    for value in fresh:
        try:
            memo[value] = parse(value)
        except RowError:
            return None
    return list(map(memo.__getitem__, column))

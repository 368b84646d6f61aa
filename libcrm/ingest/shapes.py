"""Regular expressions matching plain CSV lines whose every value is certainly valid.

Each value pattern accepts a subset of what the column's parser in ``fields.py`` accepts, and
only text PostgreSQL reads into the same value the parser's canonical form gives, with no
whitespace to strip; so a block of lines that matches can be loaded as it is. Anything else is
left to the parsers.
"""

from __future__ import annotations

import re

from libcrm.ingest.fields import Entity, boolean, day, integer, text, timestamp

_YEAR = r"(?!0000)[0-9]{4}"
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
DATE = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
# No comma, line end or whitespace at either end. Possessive runs of non-space and of space
# (never a line end) match the same text as "[^,\s](?:[^,\n]*[^,\s])?" without backtracking.
TEXT = r"[^,\s]++(?:[^\S\n]++[^,\s]++)*+"
# Up to 9 digits always fits the 32-bit columns; a sign or leading zeros read the same.
INTEGER = r"[+-]?[0-9]{1,9}"
# The spellings of ``boolean`` PostgreSQL also reads (no case folding: it differs for Unicode).
BOOLEAN = r"(?:true|false|True|False|TRUE|FALSE|t|f|T|F|1|0|yes|no)"
VALUE_SHAPES = {text: TEXT, timestamp: f"{DATE} {TIME}", day: DATE, integer: INTEGER,
                boolean: BOOLEAN}  # fmt: skip


def line_finder(entity: Entity, captured: list[int]) -> re.Pattern[str] | None:
    """A pattern whose ``findall`` gives one match per line laid out as ``entity.names``,
    ended by ``\\n``, whose every value is certainly valid; a line that is not gets none.

    Each match captures the values of the columns at ``captured`` (in that order). None when a
    column's parser has no such shape.
    """
    values = []
    for index, column in enumerate(entity.columns):
        accepted = getattr(column.parse, "accepted", None)
        if accepted is not None:
            shape = "(?:" + "|".join(map(re.escape, accepted)) + ")"
        elif column.parse in VALUE_SHAPES:
            shape = VALUE_SHAPES[column.parse]
        else:
            return None
        value = f"(?:{shape})" if column.required else f"(?:{shape})?"
        values.append(f"({value})" if index in captured else value)
    return re.compile("^" + ",".join(values) + "\n", re.MULTILINE)

"""Regular expressions matching whole plain CSV lines whose every value is certainly valid.

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
TEXT = r"[^,\s](?:[^,\n]*[^,\s])?"  # no comma, line end or whitespace at either end
# Up to 9 digits always fits the 32-bit columns; a sign or leading zeros read the same.
INTEGER = r"[+-]?[0-9]{1,9}"
# The spellings of ``boolean`` PostgreSQL also reads (no case folding: it differs for Unicode).
BOOLEAN = r"(?:true|false|True|False|TRUE|FALSE|t|f|T|F|1|0|yes|no)"
VALUE_SHAPES = {text: TEXT, timestamp: f"{DATE} {TIME}", day: DATE, integer: INTEGER,
                boolean: BOOLEAN}  # fmt: skip


def line_pattern(entity: Entity) -> re.Pattern[str] | None:
    """A pattern matching lines laid out as ``entity.names``, each ended by ``\\n`` and each
    value certainly valid; None when a column's parser has no such shape. Every line is an
    atomic group, so a line that does not match costs its own length, never a backtrack
    through the lines before it."""
    values = []
    for column in entity.columns:
        accepted = getattr(column.parse, "accepted", None)
        if accepted is not None:
            shape = "(?:" + "|".join(map(re.escape, accepted)) + ")"
        elif column.parse in VALUE_SHAPES:
            shape = VALUE_SHAPES[column.parse]
        else:
            return None
        values.append(f"(?:{shape})" if column.required else f"(?:{shape})?")
    line = ",".join(values)
    return re.compile(f"(?>{line}\n)++")


def field_pattern(index: int) -> re.Pattern[str]:
    """A pattern whose ``findall`` over plain lines, each ended by ``\\n``, gives field
    ``index`` of every line (each match takes one whole line, so nothing is scanned twice)."""
    return re.compile(f"(?:[^,\n]*,){{{index}}}([^,\n]*)[^\n]*\n")

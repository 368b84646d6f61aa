"""What a source file must look like before its rows are read: its encoding, its columns, and
the error that stops a file which cannot be loaded as its entity."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from libcrm.ingest.fields import Entity

# Tried in order on the whole file: UTF-8 (a byte-order mark is dropped), then GBK's
# superset, which Chinese gate and ILS systems commonly export. A file that is neither is read
# as UTF-8 and the rows holding the bad bytes are quarantined.
ENCODINGS = ("utf-8", "gb18030")
SCAN_BYTES = 16 * 1024 * 1024  # read this much at a time when checking a file's encoding

# line, values, problem, original text. Values are None when the row is unreadable (problem
# says why) or a plain CSV line left unsplit: ask the file's ``values(row)``. Text is None
# when the file renders it on demand: ask its ``content(row)``.
Row = tuple[int, list[str] | None, str | None, str | None]


@dataclass(frozen=True)
class Dialect:
    """How a library writes a file, when its mapping says so (``libcrm.ingest.mapping``).

    Attributes
    ----------
    encoding : str or None
        The file's encoding; None: detected from ``ENCODINGS``.
    delimiter : str
        The CSV separator (exports as documented use commas).
    header : mapping of str to str
        The library's column names, each to the documented column it holds.
    mapped_by : str
        The mapping entry that says so (``ils.loans in mapping.yml``), for messages; empty when
        the file is laid out as documented.
    """

    encoding: str | None = None
    delimiter: str = ","
    header: Mapping[str, str] = field(default_factory=dict)
    mapped_by: str = ""

    def documented(self, names: list[str]) -> list[str]:
        """The documented names of a file's columns (a name not mapped stays as it is)."""
        return [self.header.get(name, name) for name in names]


DOCUMENTED = Dialect()


class SourceFormatError(ValueError):
    """A whole file cannot be loaded as its entity; the message names the file and the fix."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file


def unreadable(error: OSError | RecursionError) -> str:
    """The reason a file could not be read at all, and what to do about it."""
    if isinstance(error, RecursionError):
        return (
            "nested too deeply to be read (arrays or objects inside each other beyond about "
            "1,000 levels); nothing was loaded — fix the export (see docs/sources.md for its "
            "shape) and run the day again"
        )
    if isinstance(error, IsADirectoryError):
        return (
            "is a folder, not a file; nothing was loaded — put the export there as a file and "
            "run the day again"
        )
    return (
        f"could not be read ({error.strerror or error}); nothing was loaded — check the disk "
        "or mount of the landing folder, then run the day again"
    )


def detect_encoding(path: Path, encodings: tuple[str, ...] = ENCODINGS) -> tuple[str, bool]:
    """Return the first of ``encodings`` the whole file decodes with (else the first), and
    whether the file is clean: decodable and free of NUL characters."""
    for encoding in encodings:
        decoder = codecs.getincrementaldecoder(encoding)()
        has_nul = False
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(SCAN_BYTES):
                    decoder.decode(chunk)
                    has_nul = has_nul or b"\x00" in chunk
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding, not has_nul
    return encodings[0], False


def check_columns(
    name: str, entity: Entity, header: list[str], dialect: Dialect = DOCUMENTED
) -> tuple[list[str], list[str]]:
    """Return (unknown columns, missing optional columns); raise on a missing required one.

    ``header`` holds the documented names of the file's columns (mapped by ``dialect``)."""
    doubled = sorted({column for column in header if header.count(column) > 1})
    if doubled:
        raise SourceFormatError(
            name,
            f"column(s) {', '.join(doubled)} appear more than once in the header; "
            "nothing was loaded — fix the export and run the day again",
        )
    known = set(entity.names)
    absent = [column for column in entity.names if column not in header]
    lacking = [column for column in entity.required if column in absent]
    if lacking:
        where = "records" if name.endswith(".json") else "header"
        fix = "fix the export (see docs/sources.md)"
        if dialect.mapped_by:
            fix = (
                f"fix the export, or map its header to it under the columns of {dialect.mapped_by},"
            )
        raise SourceFormatError(
            name,
            f"required column(s) {', '.join(lacking)} missing from the {where}; nothing was "
            f"loaded — {fix} and run the day again",
        )
    extra = [column for column in header if column not in known]
    return extra, [column for column in absent if column not in lacking]

"""Load one source file into ``raw`` with COPY: every row loaded or quarantined, counts audited.

A file is one batch (one ``raw.load_audit`` row). ``load_file`` runs inside the caller's
transaction, which holds every file of a source's day, so a day is loaded all or nothing.
Loading the same file again is a no-op; a re-delivered file with new content replaces its
earlier batch, so re-running a day gives the same tables.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from libcrm.ingest.chunks import COPY_OPTIONS, NULL, ChunkJudge, copy_escape
from libcrm.ingest.fields import Entity, RowError
from libcrm.ingest.keys import Keys
from libcrm.ingest.layout import DOCUMENTED, Dialect, Row
from libcrm.ingest.readers import PlainBlock, open_source, pieces

log = logging.getLogger(__name__)

REJECTED_COLUMNS = "source, batch_id, file, line, content, reason"
SPILL_CHUNK = 1024 * 1024  # characters of quarantined rows sent to COPY at a time
# Rows judged together: large enough that judging costs a few calls per column, not per row.
CHUNK_ROWS = 8192
# A declined chunk is halved until this small, then judged row by row: a rare bad row costs
# a few re-judged halves instead of its whole chunk row by row.
ROW_BY_ROW_ROWS = 64


@dataclass(frozen=True)
class LoadResult:
    """What happened to one file."""

    file: str
    entity: str
    batch_id: int | None
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    skipped: bool = False
    extra_columns: tuple[str, ...] = field(default=())


def checksum(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _forget_batches(conn: psycopg.Connection, entity: Entity, batch_ids: list[int]) -> None:
    table = sql.Identifier("raw", entity.table)
    conn.execute(sql.SQL("delete from {} where batch_id = any(%s)").format(table), [batch_ids])
    conn.execute("delete from quarantine.rejected_rows where batch_id = any(%s)", [batch_ids])
    conn.execute(
        "update raw.load_audit set status = 'replaced' where batch_id = any(%s)", [batch_ids]
    )


def load_file(
    conn: psycopg.Connection,
    entity: Entity,
    path: Path,
    name: str,
    data_date: date,
    secret: bytes,
    cards: frozenset[str],
    dialect: Dialect = DOCUMENTED,
) -> LoadResult:
    """Load ``path`` (known as ``name`` in the audit) as one batch in the open transaction,
    read as ``dialect`` says (a library's own layout, mapped to ``entity``'s columns).

    Raises
    ------
    SourceFormatError
        When the file cannot be read as ``entity`` at all (e.g. a required column is missing);
        the caller rolls the day back.
    """
    digest = checksum(path)
    earlier = conn.execute(
        "select batch_id, checksum from raw.load_audit where file = %s and status = 'loaded'",
        [name],
    ).fetchall()
    if any(seen == digest for _, seen in earlier):
        return LoadResult(name, entity.table, None, 0, 0, 0, skipped=True)
    with open_source(path, name, entity, dialect) as source:
        if earlier:
            log.warning("%s changed since it was loaded: replacing its earlier batch", name)
            _forget_batches(conn, entity, [batch for batch, _ in earlier])
        if source.extra:
            log.warning("%s: unknown column(s) %s ignored", name, ", ".join(source.extra))
        batch_id = conn.execute(
            "insert into raw.load_audit (source, entity, file, checksum, data_date, "
            "extra_columns, missing_columns, started_at) "
            "values (%s, %s, %s, %s, %s, %s, %s, clock_timestamp()) returning batch_id",
            [entity.source, entity.table, name, digest, data_date, source.extra, source.missing],
        ).fetchone()[0]
        keys = Keys(entity, secret, cards, data_date)
        read, rejected = _copy_rows(conn, entity, source, name, batch_id, keys)
    conn.execute(
        "update raw.load_audit set rows_read = %s, rows_loaded = %s, rows_quarantined = %s, "
        "status = 'loaded', finished_at = clock_timestamp() where batch_id = %s",
        [read, read - rejected, rejected, batch_id],
    )
    if rejected:
        log.warning(
            "%s: %d of %d rows quarantined (see quarantine.rejected_rows, batch %d)",
            name,
            rejected,
            read,
            batch_id,
        )
    return LoadResult(
        name, entity.table, batch_id, read, read - rejected, rejected, False, tuple(source.extra)
    )


class _Rows:
    """Judges a file's rows chunk by chunk into COPY text for ``raw``; quarantined rows go to
    ``spill`` as COPY text for ``quarantine.rejected_rows``."""

    def __init__(self, entity: Entity, source, name: str, batch_id: int, keys: Keys, spill):
        self.source, self.name, self.batch_id = source, name, batch_id
        self.keys, self.spill = keys, spill
        self.parse = entity.row_parser(source.header)
        seen: list[dict[str, int]] = [{} for _ in entity.unique]
        self.unique = [
            (entity.names.index(column), column, found)
            for column, found in zip(entity.unique, seen, strict=True)
        ]
        self.judge = ChunkJudge(entity, source.header, keys, seen)
        self.key = entity.names.index(entity.key) if entity.key else -1
        self.width = len(source.header)
        self.prefix = f"{copy_escape(entity.source)}\t{batch_id}\t{copy_escape(name)}\t"
        self.rejected = 0

    def block_text(self, block: PlainBlock) -> list[str]:
        """COPY text of a plain block: passed on whole when the judge accepts it, else
        judged in chunks of rows."""
        text = self.judge.plain_text(self.batch_id, block.lines, block.texts, block.text)
        if text is not None:
            return [text]
        rows = block.rows()
        return [
            text
            for start in range(0, len(rows), CHUNK_ROWS)
            for text in self.copy_text(rows[start : start + CHUNK_ROWS])
        ]

    def copy_text(self, chunk: list[Row]) -> list[str]:
        """COPY text of the chunk's good rows, in order; a chunk the judge declines is split
        in two until the pieces are small enough to judge row by row."""
        lines, values, problems, texts = zip(*chunk, strict=True)
        count = len(chunk)
        if problems.count(None) == count:
            text = None
            if values.count(None) == count:  # plain lines: match them whole, else split them
                text = self.judge.plain_text(self.batch_id, lines, texts)
                by_header = None if text else _plain_columns(texts, self.width)
            else:
                by_header = list(zip(*map(self.source.values, chunk), strict=True))
            if text is None:
                text = self.judge.copy_text(self.batch_id, lines, by_header)
            if text is not None:
                return [text]
        if len(chunk) <= ROW_BY_ROW_ROWS:
            return [self._row_by_row(chunk)]
        half = len(chunk) // 2
        return self.copy_text(chunk[:half]) + self.copy_text(chunk[half:])

    def _row_by_row(self, chunk: list[Row]) -> str:
        out = []
        for row in chunk:
            line, _, problem, _ = row
            try:
                if problem:
                    raise RowError(problem)
                values = self.parse(self.source.values(row))
                for index, column, seen in self.unique:
                    first = seen.get(values[index])
                    if first is not None:
                        raise RowError(
                            f"duplicate {column} '{values[index]}': already on line {first} "
                            "of this file, which was loaded — a file holds each record once; "
                            "fix the export and re-deliver it if this row is the right one"
                        )
                user = self.keys.of([values[self.key]]) if self.key >= 0 else None
            except RowError as error:
                self.rejected += 1
                content = copy_escape(self.source.content(row))
                self.spill.write(f"{self.prefix}{line}\t{content}\t{copy_escape(str(error))}\n")
                log.info("%s line %d: %s — row quarantined", self.name, line, error)
                continue
            for index, _, seen in self.unique:
                seen[values[index]] = line
            fields = [str(self.batch_id), str(line)] + (user or [])
            fields += [NULL if value is None else copy_escape(value) for value in values]
            out.append(",".join(fields) + "\n")
        return "".join(out)


def _plain_columns(texts: tuple[str, ...], width: int) -> list[list[str]]:
    """The columns of plain CSV lines (each exactly ``width`` fields, no quotes or line ends)."""
    flat = "\n".join(texts).replace("\n", ",").split(",")
    return [flat[index::width] for index in range(width)]


def _copy_rows(conn, entity: Entity, source, name: str, batch_id: int, keys: Keys):
    """COPY the good rows into raw, spill the bad ones to a temporary file, then COPY those
    into quarantine; return (rows read, rows quarantined)."""
    columns = ["batch_id", "source_line"] + (["user_key"] if entity.has_user_key else [])
    columns += entity.targets
    copy_rows = sql.SQL("copy {} ({}) from stdin ({})").format(
        sql.Identifier("raw", entity.table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(COPY_OPTIONS),
    )
    read = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spill:
        judged = _Rows(entity, source, name, batch_id, keys, spill)
        cursor = conn.cursor()
        with cursor.copy(copy_rows, writer=QueuedLibpqWriter(cursor)) as copy:
            for piece in pieces(source, CHUNK_ROWS):
                if isinstance(piece, PlainBlock):
                    read += len(piece.texts)
                    texts = judged.block_text(piece)
                else:
                    read += len(piece)
                    texts = judged.copy_text(piece)
                for text in texts:
                    copy.write(text)
        if judged.rejected:
            spill.seek(0)
            with conn.cursor().copy(
                f"copy quarantine.rejected_rows ({REJECTED_COLUMNS}) from stdin"
            ) as copy:
                while chunk := spill.read(SPILL_CHUNK):
                    copy.write(chunk)
    return read, judged.rejected

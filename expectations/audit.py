"""The day's load audit as a suite: files that repeat record keys or had many rows quarantined.

The loader keeps the first copy of a repeated key and quarantines the rest, so the rows in
``raw`` stay unique; this suite is where a duplicated export still stops the run.
"""

from __future__ import annotations

from datetime import date

import great_expectations.expectations as gxe

from expectations.base import CRITICAL, WARNING, Suite, day_literal

# A fifth of a file rejected means the export itself is broken, not a few bad rows.
QUARANTINE_CRITICAL_SHARE = 0.2
# More than one row in a hundred rejected is worth an operator's look.
QUARANTINE_WARNING_SHARE = 0.01


def raw_load_audit(data_date: date) -> Suite:
    """The day's files: no duplicated keys and few quarantined rows; each failing row names
    its file."""
    query = f"""
        select
            audit.file,
            audit.rows_read,
            audit.rows_quarantined,
            audit.rows_quarantined::float8 / nullif(audit.rows_read, 0) as quarantined_share,
            (
                select count(*) from quarantine.rejected_rows as rejected
                where
                    rejected.batch_id = audit.batch_id
                    and starts_with(rejected.reason, 'duplicate ')
            ) as duplicate_rows
        from raw.load_audit as audit
        where audit.status = 'loaded' and audit.data_date = {day_literal(data_date)}
    """  # noqa: S608
    return Suite(
        "raw_load_audit",
        query,
        [
            gxe.UnexpectedRowsExpectation(
                description="no file repeats a record key (the loader kept the first copy, "
                "which may not be the latest state)",
                unexpected_rows_query="select file, duplicate_rows from {batch} "
                "where duplicate_rows > 0",
                severity=CRITICAL,
            ),
            gxe.UnexpectedRowsExpectation(
                description=f"at most {QUARANTINE_CRITICAL_SHARE:.0%} of a file's rows quarantined",
                unexpected_rows_query="select file, rows_read, rows_quarantined from {batch} "  # noqa: S608
                f"where quarantined_share > {QUARANTINE_CRITICAL_SHARE}",
                severity=CRITICAL,
            ),
            gxe.UnexpectedRowsExpectation(
                description=f"at most {QUARANTINE_WARNING_SHARE:.0%} of a file's rows quarantined",
                unexpected_rows_query="select file, rows_read, rows_quarantined from {batch} "  # noqa: S608
                f"where quarantined_share > {QUARANTINE_WARNING_SHARE}",
                severity=WARNING,
            ),
        ],
        tables=("raw.load_audit", "quarantine.rejected_rows"),
    )

"""What a suite is, and the two severities every expectation carries.

``critical`` stops the run before anything is published (the portal keeps the previous night's
tables); ``warning`` is recorded and the run goes on. Critical marks what would publish wrong or
private data (duplicate keys in a batch, timestamps in the future, PII in a mart, a broken
export; labels and mart keys are dbt tests, which fail the build itself); warning marks what is
implausible but may be true (a volume outside its usual band, late-arriving rows, a score
outside its range).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

CRITICAL = "critical"
WARNING = "warning"


def note(text: str) -> dict:
    """Meta for an expectation: ``note`` is stored with its result and shown in Data Docs."""
    return {"note": text}


@dataclass(frozen=True)
class Suite:
    """A named suite, the query selecting the rows it validates, and the tables it reads.

    Parameters
    ----------
    name : str
        Suite name, unique across stages (``raw_loans``, ``marts_user_profiles``).
    query : str
        SQL selecting the rows to validate; Great Expectations reads it as a query asset.
    expectations : list
        ``great_expectations.expectations`` objects, each with ``severity`` set.
    tables : tuple of str
        Relations the query reads; when one does not exist yet the suite is skipped and a
        ``table missing`` warning is recorded instead.
    whole_table : str, optional
        ``schema.table`` when the suite covers a whole relation: it is then read as a table
        asset, whose columns Great Expectations looks up in the catalog (a query asset is run
        in full once just to learn its column names).
    """

    name: str
    query: str
    expectations: list
    tables: tuple[str, ...] = field(default=())
    whole_table: str | None = None


def whole_table(name: str, relation: str, expectations: list) -> Suite:
    """A suite over every row of ``relation`` (``schema.table``)."""
    return Suite(name, f"select * from {relation}", expectations, (relation,), relation)  # noqa: S608


@dataclass(frozen=True)
class Interval:
    """The run's data interval ``[start, end)``: the day, as local timestamps."""

    day: date

    @property
    def start(self) -> str:
        return datetime.combine(self.day, time()).isoformat(" ")

    @property
    def end(self) -> str:
        return datetime.combine(self.day + timedelta(days=1), time()).isoformat(" ")


def day_literal(day: date) -> str:
    """A date as a SQL literal (``date`` objects only, so nothing else can be interpolated)."""
    return f"date '{date.isoformat(day)}'"

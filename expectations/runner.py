"""Run suites against the warehouse, keep every result in ``quality.validation_results``, and
build Data Docs.

Cost: importing Great Expectations takes most of a stage (about 6 s on 2 cores); the rest is
kept small by rendering Data Docs once per stage for the new results only (the stock
UpdateDataDocsAction rebuilds the whole site once per suite) and by suites whose queries select
only the columns they check.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from expectations import docs
from expectations.base import WARNING, Suite
from libcrm import config, db, settings

log = logging.getLogger(__name__)
# A failed expectation keeps this many offending values or rows with its result.
SAMPLE_SIZE = 20


class CriticalValidationError(RuntimeError):
    """A critical expectation failed: downstream work must not run."""


@dataclass
class Outcome:
    """What one stage's validation found."""

    stage: str
    results: list[dict] = field(default_factory=list)
    docs_index: Path | None = None

    @property
    def critical_failures(self) -> list[dict]:
        return [r for r in self.results if not r["success"] and r["severity"] != WARNING]

    @property
    def warnings(self) -> list[dict]:
        return [r for r in self.results if not r["success"] and r["severity"] == WARNING]

    def describe(self, result: dict) -> str:
        """One line naming the suite, check, column, observed value and why it matters."""
        column = f" on {result['column']}" if result["column"] else ""
        what = f" ({result['description']})" if result.get("description") else ""
        why = f" [{result['note']}]" if result.get("note") else ""
        return (
            f"[{result['severity']}] {result['suite']}: {result['expectation']}{column}{what} "
            f"failed (observed {result['observed_value']}){why}"
        )

    def summary(self) -> dict:
        """The task's return value: counts, each failure described, and the Data Docs index."""
        return {
            "stage": self.stage,
            "expectations": len(self.results),
            "failed_critical": len(self.critical_failures),
            "failed_warning": len(self.warnings),
            "criticals": [self.describe(r) for r in self.critical_failures],
            "warnings": [self.describe(r) for r in self.warnings],
            "data_docs": str(self.docs_index),
        }


def data_docs_dir() -> Path:
    """Where Data Docs are built: ``LIBCRM_DATA_DOCS_DIR`` or ``.local/data_docs``."""
    return settings.load().data_docs_dir


def _sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def _missing(suite: Suite, what: str, expectation: str, column: str | None) -> dict:
    return {
        "suite": suite.name,
        "expectation": expectation,
        "column": column,
        "severity": WARNING,
        "success": False,
        "observed_value": json.dumps(what),
        "element_count": None,
        "unexpected_count": None,
        "unexpected_percent": None,
        "description": None,
        "note": "skipped until the model provides it",
    }


def _columns_of(expectation) -> list[str]:
    return _kwargs_columns(expectation.configuration.kwargs)


def _kwargs_columns(kwargs) -> list[str]:
    names = [kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B")]
    return [name for name in names + list(kwargs.get("column_list") or []) if name]


def check_presence(suites: list[Suite], url: str) -> tuple[list[Suite], list[dict]]:
    """Drop suites whose tables, and expectations whose columns, do not exist yet.

    Returns the suites to run and a ``table missing`` / ``column missing`` warning result for
    each thing dropped, so a mart still being built never crashes the run.
    """
    runnable, skipped = [], []
    with db.connect(url) as conn:
        for suite in suites:
            absent = [
                table
                for table in suite.tables
                if conn.execute("select to_regclass(%s)", [table]).fetchone()[0] is None
            ]
            if absent:
                what = f"table missing: {', '.join(absent)}"
                skipped.append(_missing(suite, what, "expect_table_to_exist", None))
                continue
            cursor = conn.execute(f"select * from ({suite.query}) as probe limit 0")  # noqa: S608
            columns = {column.name for column in cursor.description}
            kept = []
            for expectation in suite.expectations:
                lacking = [name for name in _columns_of(expectation) if name not in columns]
                if lacking:
                    kind = expectation.expectation_type
                    skipped.append(_missing(suite, "column missing", kind, lacking[0]))
                else:
                    kept.append(expectation)
            runnable.append(replace(suite, expectations=kept))
    return runnable, skipped


def _error(exception_info: dict | None) -> str | None:
    """The message of an exception GX caught while checking, if any (flat or per metric)."""
    infos = [exception_info or {}]
    infos += [value for value in (exception_info or {}).values() if isinstance(value, dict)]
    for info in infos:
        if info.get("raised_exception"):
            return str(info.get("exception_message"))
    return None


def _observed(details: dict, exception_info: dict | None):
    error = _error(exception_info)
    if error:
        return {"error": error}
    if "observed_value" in details:
        return details["observed_value"]
    if details.get("unexpected_count"):
        return details.get("partial_unexpected_list", [])[:SAMPLE_SIZE]
    return details.get("unexpected_count", details.get("observed_value"))


def _offending_rows(url: str, rows_query: str, batch_query: str) -> list[dict]:
    """The first offending rows of a failed row-level check (GX reports only their count)."""
    sql = rows_query.replace("{batch}", f"({batch_query}) as batch")
    with db.connect(url) as conn:
        cursor = conn.execute(f"select * from ({sql}) as offending limit {SAMPLE_SIZE}")  # noqa: S608
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _summarise(suite_name: str, result) -> dict:
    expectation = result.expectation_config
    details = result.result or {}
    severity = expectation.severity
    return {
        "suite": suite_name,
        "expectation": expectation.type,
        "column": ", ".join(_kwargs_columns(expectation.kwargs)) or None,
        "severity": getattr(severity, "value", severity) or "critical",
        "success": bool(result.success),
        "observed_value": json.dumps(_observed(details, result.exception_info), default=str),
        "element_count": details.get("element_count"),
        "unexpected_count": details.get("unexpected_count"),
        "unexpected_percent": details.get("unexpected_percent"),
        "description": expectation.description,
        "note": (expectation.meta or {}).get("note"),
    }


def validate(
    stage: str, suites: list[Suite], data_date: date, run_id: str, url: str | None = None
) -> Outcome:
    """Validate ``suites``, store their results for ``run_id`` and build Data Docs.

    Parameters
    ----------
    stage : str
        ``raw`` or ``marts``; names the checkpoint and the Data Docs run.
    suites : list of Suite
        What to validate.
    data_date : datetime.date
        The run's day, stored with every result.
    run_id : str
        The Airflow run id, stored with every result.
    url : str, optional
        Warehouse URL (default ``LIBCRM_DATABASE_URL``).
    """
    url = url or config.database_url()
    runnable, skipped = check_presence(suites, url)
    docs_dir = data_docs_dir()
    run_results = docs.run_checkpoint(
        stage, runnable, _sqlalchemy_url(url), f"{run_id} {stage}", docs_dir
    )
    outcome = Outcome(stage, results=skipped, docs_index=docs_dir / "index.html")
    queries = {suite.name: suite.query for suite in runnable}
    for suite_name, results in run_results:
        for result in results:
            summary = _summarise(suite_name, result)
            rows_query = result.expectation_config.kwargs.get("unexpected_rows_query")
            if rows_query and not summary["success"] and not _error(result.exception_info):
                rows = _offending_rows(url, rows_query, queries[suite_name])
                summary["observed_value"] = json.dumps(rows, default=str)
            outcome.results.append(summary)
    store(outcome, data_date, run_id, url)
    summary = outcome.summary()
    log.info(
        "validate %s for %s: %d expectations, %d critical failure(s), %d warning(s); Data Docs %s",
        stage,
        data_date,
        summary["expectations"],
        summary["failed_critical"],
        summary["failed_warning"],
        outcome.docs_index.resolve().as_uri(),
    )
    for line in summary["warnings"]:
        log.warning("%s", line)
    for line in summary["criticals"]:
        log.error("%s", line)
    return outcome


COLUMNS = (
    "suite",
    "expectation",
    "column",
    "severity",
    "success",
    "observed_value",
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "description",
    "note",
)


def store(outcome: Outcome, data_date: date, run_id: str, url: str) -> None:
    """Replace this run's results for the stage's suites in ``quality.validation_results``."""
    suites = sorted({r["suite"] for r in outcome.results})
    with db.connect(url) as conn, conn.transaction():
        conn.execute(
            "delete from quality.validation_results where run_id = %s and suite = any(%s)",
            [run_id, suites],
        )
        with conn.cursor().copy(
            "copy quality.validation_results (run_id, data_date, stage, suite, expectation, "
            "column_name, severity, success, observed_value, element_count, unexpected_count, "
            "unexpected_percent, description, note) from stdin"
        ) as copy:
            for r in outcome.results:
                copy.write_row([run_id, data_date, outcome.stage, *(r[c] for c in COLUMNS)])

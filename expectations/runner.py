"""Run suites against the warehouse, keep every result in ``quality.validation_results``, and
build Data Docs."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from expectations.suites import Suite
from libcrm import config, db

log = logging.getLogger(__name__)


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
        return [r for r in self.results if not r["success"] and r["severity"] == "critical"]

    @property
    def warnings(self) -> list[dict]:
        return [r for r in self.results if not r["success"] and r["severity"] == "warning"]

    def describe(self, result: dict) -> str:
        column = f" on {result['column']}" if result["column"] else ""
        return (
            f"[{result['severity']}] {result['suite']}: {result['expectation']}{column} "
            f"failed (observed {result['observed_value']})"
        )


def data_docs_dir() -> Path:
    """Where Data Docs are built: ``LIBCRM_DATA_DOCS_DIR`` or ``.local/data_docs``."""
    import os

    return Path(os.environ.get("LIBCRM_DATA_DOCS_DIR", config.LOCAL_DIR / "data_docs"))


def _sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def _context(docs_dir: Path):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.add_data_docs_site(
        site_name="libcrm",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    return context


def _summarise(suite_name: str, result) -> dict:
    config_ = result.expectation_config
    details = result.result or {}
    observed = details.get("observed_value", details.get("unexpected_count"))
    return {
        "suite": suite_name,
        "expectation": config_.type,
        "column": config_.kwargs.get("column"),
        "severity": (config_.meta or {}).get("severity", "critical"),
        "success": bool(result.success),
        "observed_value": json.dumps(observed, default=str),
    }


def validate(
    stage: str, suites: list[Suite], data_date: date, run_id: str, url: str | None = None
) -> Outcome:
    """Validate ``suites``, store their results for ``run_id`` and build Data Docs."""
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction

    url = url or config.database_url()
    docs_dir = data_docs_dir()
    context = _context(docs_dir)
    source = context.data_sources.add_postgres("warehouse", connection_string=_sqlalchemy_url(url))
    definitions = []
    for suite in suites:
        batch = source.add_query_asset(suite.name, query=suite.query)
        gx_suite = context.suites.add(
            gx.ExpectationSuite(name=suite.name, expectations=suite.expectations)
        )
        definitions.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(
                    name=suite.name,
                    data=batch.add_batch_definition_whole_table("whole"),
                    suite=gx_suite,
                )
            )
        )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{stage}_checkpoint",
            validation_definitions=definitions,
            actions=[UpdateDataDocsAction(name="data_docs")],
        )
    )
    run = checkpoint.run()
    outcome = Outcome(stage, docs_index=docs_dir / "index.html")
    for identifier, validation in run.run_results.items():
        suite_name = validation.suite_name or str(identifier)
        outcome.results += [_summarise(suite_name, result) for result in validation.results]
    store(outcome, data_date, run_id, url)
    for failure in outcome.warnings:
        log.warning("%s", outcome.describe(failure))
    for failure in outcome.critical_failures:
        log.error("%s", outcome.describe(failure))
    return outcome


def store(outcome: Outcome, data_date: date, run_id: str, url: str) -> None:
    """Replace this run's results for the stage's suites in ``quality.validation_results``."""
    suites = sorted({r["suite"] for r in outcome.results})
    with db.connect(url) as conn, conn.transaction():
        conn.execute(
            "delete from quality.validation_results where run_id = %s and suite = any(%s)",
            [run_id, suites],
        )
        with conn.cursor().copy(
            "copy quality.validation_results (run_id, data_date, suite, expectation, "
            "column_name, severity, success, observed_value) from stdin"
        ) as copy:
            for r in outcome.results:
                copy.write_row(
                    [
                        run_id,
                        data_date,
                        r["suite"],
                        r["expectation"],
                        r["column"],
                        r["severity"],
                        r["success"],
                        r["observed_value"],
                    ]
                )

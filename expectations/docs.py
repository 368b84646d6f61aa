"""The Great Expectations side of a run: a context whose suites and results persist next to the
Data Docs site, one checkpoint per stage, and the site rendered once for the new results.

Suites and validation results are kept as JSON under ``<data docs>/_gx`` so the site shows
every stage of every recent night (an in-memory context would leave only the last stage).
Results older than ``KEEP_DAYS`` are pruned, and their pages with them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from expectations.base import Suite

# A month of nights is enough to compare with; older results stay in quality.validation_results.
KEEP_DAYS = 31
SITE = "libcrm"


def _filesystem(store_class: str, folder: Path) -> dict:
    return {
        "class_name": store_class,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(folder),
        },
    }


def configure_context(docs_dir: Path):
    """An ephemeral context with file-backed suites and results and the libcrm Data Docs site."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    defaults = InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
    stores = dict(defaults.stores)
    stores[defaults.expectations_store_name] = _filesystem(
        "ExpectationsStore", docs_dir / "_gx" / "expectations"
    )
    stores[defaults.validation_results_store_name] = _filesystem(
        "ValidationResultsStore", docs_dir / "_gx" / "validations"
    )
    project = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            SITE: {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    return gx.get_context(mode="ephemeral", project_config=project)


def configure_checkpoint(context, stage: str, suites: list[Suite], sqlalchemy_url: str):
    """One query asset, suite and validation definition per suite, in one checkpoint."""
    import great_expectations as gx

    source = context.data_sources.add_postgres("warehouse", connection_string=sqlalchemy_url)
    definitions = []
    for suite in suites:
        if suite.whole_table:
            schema, table = suite.whole_table.split(".")
            asset = source.add_table_asset(suite.name, table_name=table, schema_name=schema)
        else:
            asset = source.add_query_asset(suite.name, query=suite.query)
        gx_suite = context.suites.add_or_update(
            gx.ExpectationSuite(name=suite.name, expectations=suite.expectations)
        )
        definitions.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(
                    name=suite.name,
                    data=asset.add_batch_definition_whole_table("whole"),
                    suite=gx_suite,
                )
            )
        )
    return context.checkpoints.add(
        gx.Checkpoint(
            name=f"{stage}_checkpoint",
            validation_definitions=definitions,
            # BASIC keeps counts, percentages and a sample of offending values: all that is
            # stored. SUMMARY adds index-list metrics nobody reads.
            result_format="BASIC",
        )
    )


def run_checkpoint(
    stage: str, suites: list[Suite], sqlalchemy_url: str, run_name: str, docs_dir: Path
) -> list[tuple[str, list]]:
    """Validate ``suites``, render their pages and the index, and return each suite's results."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    if not suites:
        return []
    context = configure_context(docs_dir)
    checkpoint = configure_checkpoint(context, stage, suites, sqlalchemy_url)
    run = checkpoint.run(run_id=RunIdentifier(run_name=run_name))
    _prune(context, KEEP_DAYS)
    rendered = list(run.run_results)
    rendered += [ExpectationSuiteIdentifier(name=suite.name) for suite in suites]
    context.build_data_docs(site_names=[SITE], resource_identifiers=rendered)
    return [
        (validation.suite_name or str(key), validation.results)
        for key, validation in run.run_results.items()
    ]


def _prune(context, keep_days: int) -> None:
    """Remove stored results older than ``keep_days``; the index then drops their pages."""
    store = context.validation_results_store
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=keep_days)
    for key in store.list_keys():
        run_time = key.run_id.run_time
        if run_time is not None and run_time.tzinfo is None:
            run_time = run_time.replace(tzinfo=dt.UTC)
        if run_time is not None and run_time < cutoff:
            store.remove_key(key)

"""Run the dbt project in-process against the warehouse, for one day."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from datetime import date

from libcrm import config, db


class TransformError(RuntimeError):
    """dbt reported a failed model or test; the message lists them."""


def dbt_environment(url: str) -> dict[str, str]:
    """The variables ``profiles.yml`` reads, for the server that ``url`` reaches.

    dbt connects through a driver of its own, so rather than reading the URL a second way it is
    given what libpq resolved when connecting with it: the socket directory of a URL without a
    host (``postgresql:///libcrm``, ``?host=/tmp``), the default port and user, a password from
    ``~/.pgpass``, and the URL's ``sslmode``.
    """
    config.check_database_url(url)
    with db.connect(url) as conn:
        info = conn.info
        return {
            "LIBCRM_DB_HOST": info.host,
            "LIBCRM_DB_PORT": str(info.port),
            "LIBCRM_DB_USER": info.user,
            "LIBCRM_DB_PASSWORD": info.password or "",
            "LIBCRM_DB_NAME": info.dbname,
            "LIBCRM_DB_SSLMODE": info.get_parameters().get("sslmode", "prefer"),
        }


@contextmanager
def _environment(values: dict[str, str]):
    # dbt's profile reads env_var() from this process's environment: set the values for the
    # build and put back what was there before (a write for dbt, not a libcrm setting).
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_dbt(args: list[str], url: str | None = None) -> list[dict]:
    """Run one dbt command in this process; return its node results or raise TransformError."""
    from dbt.cli.main import dbtRunner

    project = config.dbt_project_dir()
    env = dbt_environment(url or config.database_url())
    common = ["--project-dir", str(project), "--profiles-dir", str(project)]
    with _environment(env):
        outcome = dbtRunner().invoke([*args, *common])
    if outcome.exception is not None:
        raise TransformError(f"dbt {' '.join(args)} could not run: {outcome.exception}")
    results = [
        {"node": r.node.unique_id, "status": str(r.status), "message": r.message}
        # build/run/test return node results; docs generate returns a catalog with none
        for r in getattr(outcome.result, "results", None) or []
    ]
    failed = [r for r in results if r["status"] in ("error", "fail")]
    if failed or not outcome.success:
        details = "\n".join(f"  {r['node']}: {r['status']} {r['message'] or ''}" for r in failed)
        raise TransformError(f"dbt {args[0]} failed:\n{details}")
    return results


def build(
    data_date: date, url: str | None = None, vocabulary: dict[str, list[str]] | None = None
) -> list[dict]:
    """Build and test every model for the run's day (``dbt build --vars as_of``).

    ``vocabulary`` holds the codes the library adds to open vocabularies, by kind
    (``libcrm.ingest.vocabulary_additions``): dbt's vocabulary tests accept them too.
    """
    variables = {"as_of": data_date.isoformat(), "vocabulary_additions": vocabulary or {}}
    return run_dbt(["build", "--vars", json.dumps(variables)], url)

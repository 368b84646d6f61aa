"""Run the dbt project in-process against the warehouse, for one day."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from datetime import date
from urllib.parse import unquote, urlsplit

from libcrm import config

DBT_PROJECT = config.PROJECT_ROOT / "dbt_project"


class TransformError(RuntimeError):
    """dbt reported a failed model or test; the message lists them."""


def dbt_environment(url: str) -> dict[str, str]:
    """Split a ``postgresql://`` URL into the variables ``profiles.yml`` reads."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise config.ConfigError(
            f"LIBCRM_DATABASE_URL must start with postgresql:// (got {parts.scheme}://)"
        )
    return {
        "LIBCRM_DB_HOST": parts.hostname or "127.0.0.1",
        "LIBCRM_DB_PORT": str(parts.port or 5432),
        "LIBCRM_DB_USER": unquote(parts.username or os.environ.get("USER", "postgres")),
        "LIBCRM_DB_PASSWORD": unquote(parts.password or ""),
        "LIBCRM_DB_NAME": parts.path.lstrip("/") or "postgres",
    }


@contextmanager
def _environment(values: dict[str, str]):
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

    env = dbt_environment(url or config.database_url())
    common = ["--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)]
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


def build(data_date: date, url: str | None = None) -> list[dict]:
    """Build and test every model for the run's day (``dbt build --vars as_of``)."""
    variables = json.dumps({"as_of": data_date.isoformat()})
    return run_dbt(["build", "--vars", variables], url)

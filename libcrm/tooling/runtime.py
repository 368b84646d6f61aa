"""The environment the pipeline runs in: warehouse, key, landing folder and Airflow home."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from libcrm import config


def pipeline_environment(database_url: str, landing: Path, key_file: Path | None) -> dict[str, str]:
    """Variables that the Airflow processes and the pipeline need, on top of ``os.environ``
    (written for the child processes, which read them through the settings)."""
    values = {
        "LIBCRM_DATABASE_URL": database_url,
        "LIBCRM_LANDING_DIR": str(landing),
        # Airflow's own variable, not a libcrm setting: an Airflow home already chosen is kept.
        "AIRFLOW_HOME": os.environ.get("AIRFLOW_HOME", str(config.state_dir() / "airflow")),
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.checkout("the demo runs dags/") / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "OPENBLAS_NUM_THREADS": "1",
    }
    if key_file is not None:
        values["LIBCRM_PSEUDONYM_KEY_FILE"] = str(key_file)
    return values


def write_env_file(values: dict[str, str], path: Path | None = None) -> Path:
    """Write ``export`` lines a shell can source to run Airflow as the demo does (mode 0600),
    by default to ``env.sh`` in the state folder."""
    path = path or config.state_dir() / "env.sh"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"export {name}={shlex.quote(value)}" for name, value in sorted(values.items())]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def airflow(args: list[str], env: dict[str, str], log_file: Path) -> subprocess.CompletedProcess:
    """Run the venv's ``airflow`` CLI with ``env``, its output kept in ``log_file``."""
    binary = Path(sys.executable).with_name("airflow")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w") as log:
        return subprocess.run(
            [str(binary), *args], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )

"""The package installed from its wheel, away from any checkout: it starts, its folders default
to the user's data folder, and what only a checkout has is asked for by name."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What the wheel is built from (pyproject.toml's packages and readme); nothing else of the
# checkout, so the build leaves no trace in it.
WHEEL_SOURCES = ("pyproject.toml", "README.md", "libcrm", "recsys", "expectations")
SHOW_SETTINGS = """
import json, libcrm
from libcrm import config, settings
loaded = settings.load()
try:
    dbt = str(config.dbt_project_dir())
except config.ConfigError as error:
    dbt = f"ConfigError: {error}"
print(json.dumps({
    "package": libcrm.__file__, "checkout": settings.CHECKOUT, "dbt_project": dbt,
    "state_dir": str(loaded.state_dir), "landing_dir": str(loaded.landing_dir),
    "reports_dir": str(loaded.reports_dir),
}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """The wheel unpacked into a folder of its own, and an environment that imports libcrm
    from there only, run in an empty working folder under an empty home."""
    work = tmp_path_factory.mktemp("installed")
    source = work / "source"
    source.mkdir()
    for name in WHEEL_SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    wheels = work / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("libcrm-*.whl")
    site = work / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    home, cwd = work / "home", work / "cwd"
    home.mkdir()
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIBCRM_", "PYTHON"))}
    env.update({"HOME": str(home), "PYTHONPATH": str(site)})
    return {"site": site, "home": home, "cwd": cwd, "env": env}


def _python(installed: dict, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=installed["cwd"],
        env={**installed["env"], **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_wheel_holds_the_packages_and_their_data_but_no_checkout(installed):
    site = installed["site"]
    assert (site / "libcrm" / "templates" / "report.html").is_file()
    workspace = site / "libcrm" / "workspace"
    assert (workspace / "templates" / "base.html").is_file()
    assert list((workspace / "static").iterdir()) and list(workspace.glob("locale/*/*.po"))
    assert list((site / "libcrm" / "schema").glob("*.sql"))
    assert (site / "recsys" / "__init__.py").is_file()
    assert (site / "expectations" / "__init__.py").is_file()
    assert not (site / "dbt_project").exists() and not (site / "dags").exists()


def test_the_installed_command_line_starts_outside_a_checkout(installed):
    done = _python(installed, "-m", "libcrm", "--help")
    assert done.returncode == 0, done.stderr
    assert "rotate-key" in done.stdout
    done = _python(installed, "-c", "import libcrm.pipeline, recsys, expectations")
    assert done.returncode == 0, done.stderr


def test_installed_defaults_live_in_the_users_data_folder_not_beside_the_package(installed):
    done = _python(installed, "-c", SHOW_SETTINGS)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    data = installed["home"] / ".local" / "share" / "libcrm"
    assert Path(shown["package"]).is_relative_to(installed["site"])
    assert shown["checkout"] is False
    assert shown["state_dir"] == str(data)
    assert shown["landing_dir"] == str(data / "landing")
    assert shown["reports_dir"] == str(data / "reports")
    assert shown["dbt_project"].startswith(
        "ConfigError: no dbt project: set LIBCRM_DBT_PROJECT_DIR"
    )


def test_an_installed_package_builds_the_dbt_project_it_is_given(installed, tmp_path):
    named = _python(
        installed, "-c", SHOW_SETTINGS, LIBCRM_DBT_PROJECT_DIR=str(ROOT / "dbt_project")
    )
    assert json.loads(named.stdout)["dbt_project"] == str(ROOT / "dbt_project")
    empty = _python(installed, "-c", SHOW_SETTINGS, LIBCRM_DBT_PROJECT_DIR=str(tmp_path))
    assert json.loads(empty.stdout)["dbt_project"] == (
        f"ConfigError: LIBCRM_DBT_PROJECT_DIR={tmp_path} holds no dbt_project.yml: set it to "
        "the dbt_project folder of a libcrm checkout of this version"
    )


def test_the_demo_installed_without_a_checkout_says_it_needs_one_before_starting_anything(
    installed,
):
    done = _python(installed, "-m", "libcrm", "demo")
    assert done.returncode == 2
    assert "the demo runs dags/library_nightly.py, which only a checkout of libcrm has" in (
        done.stderr
    )
    assert not (installed["home"] / ".local" / "share" / "libcrm" / "pg").exists()

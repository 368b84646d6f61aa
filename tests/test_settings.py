"""One settings object: read nowhere else, documented in the README, clear about bad values."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from libcrm import config, settings
from libcrm.privacy import retention

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("libcrm", "recsys", "expectations", "dags")
SETTINGS_MODULE = "libcrm/settings.py"
# Reads of the environment outside the settings module, each with why it is not a setting.
NOT_SETTINGS = {
    ("libcrm/tooling/runtime.py", "AIRFLOW_HOME"): "Airflow's variable; a chosen home is kept",
    ("recsys/__init__.py", "OPENBLAS_NUM_THREADS"): "OpenBLAS's variable, set before numpy",
    ("libcrm/transform.py", "name"): "puts back what it set for dbt's profile",
}


def environment_reads(source: str) -> list[tuple[int, str]]:
    """(line, variable) of each read of one variable from ``os.environ`` or ``os.getenv`` in
    ``source``: ``environ.get(X)``, ``environ.setdefault(X)``, ``environ[X]``, ``getenv(X)``,
    ``X in environ``; a name that is not a literal is given as its expression."""

    def named(node: ast.expr) -> str:
        return node.value if isinstance(node, ast.Constant) else ast.unparse(node)

    def is_environ(node: ast.expr) -> bool:
        attribute = isinstance(node, ast.Attribute) and node.attr == "environ"
        return attribute or (isinstance(node, ast.Name) and node.id == "environ")

    reads = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args:
            function = node.func
            method = isinstance(function, ast.Attribute) and function.attr in ("get", "setdefault")
            if (method and is_environ(function.value)) or (
                getattr(function, "attr", getattr(function, "id", None)) == "getenv"
            ):
                reads.append((node.lineno, named(node.args[0])))
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if is_environ(node.value):
                reads.append((node.lineno, named(node.slice)))
        elif isinstance(node, ast.Compare) and any(is_environ(c) for c in node.comparators):
            reads.append((node.lineno, named(node.left)))
    return reads


def test_the_read_finder_sees_every_way_of_reading_a_variable():
    source = (
        "import os\nfrom os import environ, getenv\n"
        "a = os.environ.get('LIBCRM_A', '')\nb = os.environ['LIBCRM_B']\n"
        "os.environ.setdefault('LIBCRM_C', '1')\nd = os.getenv('LIBCRM_D')\n"
        "e = getenv('LIBCRM_E')\nf = environ.get(name)\ng = 'LIBCRM_G' in os.environ\n"
        "os.environ['LIBCRM_WRITTEN'] = '1'\nos.environ.update(values)\nenv = {**os.environ}\n"
    )
    names = sorted(name for _, name in environment_reads(source))
    assert names == ["LIBCRM_A", "LIBCRM_B", "LIBCRM_C", "LIBCRM_D", "LIBCRM_E", "LIBCRM_G", "name"]


def test_product_code_reads_the_environment_only_in_the_settings_module():
    found = {}
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative == SETTINGS_MODULE:
                continue
            for line, name in environment_reads(path.read_text()):
                if (relative, name) not in NOT_SETTINGS:
                    found[f"{relative}:{line}"] = name
    assert found == {}, "read these through libcrm.settings.load() instead"


def test_every_read_that_is_not_a_setting_still_exists():
    for (relative, name), why in NOT_SETTINGS.items():
        names = [read for _, read in environment_reads((ROOT / relative).read_text())]
        assert name in names, f"{relative} no longer reads {name} ({why}): drop the entry"


def readme_configuration() -> dict[str, str]:
    """The README's configuration table: each variable named in a row -> the row's default."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in section.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0]):
            rows[name] = cells[-1]
    return rows


def documented_default(field: str) -> str | None:
    """How the README writes a field's default, when the default is a value or a folder."""
    default = settings.Settings.model_fields[field].default
    state = settings.Settings.model_fields["state_dir"].default
    if field in settings.Settings.STATE_FOLDERS:
        default = state / settings.Settings.STATE_FOLDERS[field]
    if isinstance(default, Path):
        return default.relative_to(settings.PROJECT_ROOT).as_posix()
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, int | str):
        return str(default)
    return None


def test_the_readme_configuration_table_lists_exactly_the_settings_with_their_defaults():
    rows = readme_configuration()
    assert sorted(name for name in rows if name.startswith(settings.PREFIX)) == sorted(
        settings.VARIABLES
    )
    others = {name for name in rows if not name.startswith(settings.PREFIX)}
    assert others <= set(settings.OTHER_PROGRAMS), "a variable that is neither ours nor known"
    for field in settings.Settings.model_fields:
        default = documented_default(field)
        if default is not None:
            cell = rows[settings.variable(field)].replace("`./", "`")
            assert f"`{default}`" in cell, f"{settings.variable(field)}: the README says {cell}"


def test_a_bad_value_gives_one_message_naming_the_variable_and_the_fix(monkeypatch):
    monkeypatch.setenv("LIBCRM_LOAN_LINK_DAYS", "abc")
    with pytest.raises(config.ConfigError) as raised:
        retention.limits()
    message = str(raised.value)
    assert message.startswith("LIBCRM_LOAN_LINK_DAYS='abc' is not a whole number: ")
    assert "unset it for the default 365" in message
    assert "\n" not in message and "validation error" not in message

    monkeypatch.setenv("LIBCRM_GATE_PASSAGE_DAYS", "ninety")
    with pytest.raises(config.ConfigError) as both:
        config.landing_dir()
    assert "LIBCRM_LOAN_LINK_DAYS='abc'" in str(both.value)
    assert "LIBCRM_GATE_PASSAGE_DAYS='ninety'" in str(both.value)


def test_settings_are_read_again_on_each_call(monkeypatch, tmp_path):
    monkeypatch.setenv("LIBCRM_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("LIBCRM_REPORTS_DIR", raising=False)
    monkeypatch.setenv("LIBCRM_REQUIRED_SOURCES", "ils, gate")
    loaded = settings.load()
    assert loaded.reports_dir == tmp_path / "reports"
    assert loaded.required_sources == {"ils", "gate"}
    monkeypatch.setenv("LIBCRM_GATE_PASSAGE_DAYS", "30")
    assert retention.limits() == (365, 30)

"""The Compose deployment holds together, checked without a Docker engine.

``docker compose config`` cannot run here, so docker-compose.yml is validated against the
Compose Specification's JSON schema, vendored byte for byte in ``tests/data/compose-spec.json``:
``schema/compose-spec.json`` of compose-spec/compose-spec (Apache-2.0), as shipped in the
check-jsonschema 0.39.0 wheel under ``check_jsonschema/builtin_schemas/vendor/``. The other tests
check what a schema cannot see: the files, services, volumes, secrets and variables that
docker-compose.yml, the Dockerfile, .dockerignore and deploy/ refer to across each other.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shlex
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from libcrm import settings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path(__file__).parent / "data" / "compose-spec.json"
# check_jsonschema/builtin_schemas/vendor/sha256/compose-spec.sha256 in check-jsonschema 0.39.0.
SCHEMA_SHA256 = "d549057ebc2925f39f62799eab0db7b9e2c18b35b6c00595199116da3ed10e64"
DEPLOY_DOC = (ROOT / "docs" / "deploy.md").read_text()
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Variables the code reads that the scheduler leaves unset on purpose, each with why. Every
# other variable the code reads must be set in the scheduler (by the image or by Compose).
UNSET_ON_PURPOSE = {
    "LIBCRM_PSEUDONYM_KEY": "it would override the key file secret (LIBCRM_PSEUDONYM_KEY_FILE)",
    "LIBCRM_LOAN_LINK_DAYS": "retention policy: the documented default applies",
    "LIBCRM_GATE_PASSAGE_DAYS": "retention policy: the documented default applies",
    "LIBCRM_REQUIRED_SOURCES": "by default a source without an export is a warning",
    "LIBCRM_ILS_TOKEN": "only for an ILS read through its API, set in deploy/libcrm.env",
    "LIBCRM_STATE_DIR": "the demo's folder; the image sets every folder the scheduler writes",
    "LIBCRM_DBT_PROJECT_DIR": "the image runs from its copy of the checkout, whose dbt_project/ "
    "is the default",
    "LIBCRM_EXPORT_MAPPING": "only for a library whose exports need mapping (deploy/libcrm.env)",
    "LIBCRM_MODEL_SELECTION": "the documented default (weekly) applies",
    "LIBCRM_WORKSPACE_HOST": "read by the workspace (python -m libcrm serve), not the scheduler",
    "LIBCRM_WORKSPACE_PORT": "read by the workspace (python -m libcrm serve), not the scheduler",
    "LIBCRM_WORKSPACE_HTTPS": "read by the workspace (python -m libcrm serve), not the scheduler",
    "LIBCRM_ILS_SOURCE": "the documented default (files) applies; the API is set in "
    "deploy/libcrm.env",
    "LIBCRM_ILS_API_URL": "only for an ILS read through its API, set in deploy/libcrm.env",
    "LIBCRM_ILS_TENANT": "only for an ILS read through its API, set in deploy/libcrm.env",
    "LIBCRM_ILS_USERNAME": "only for an ILS read through its API, set in deploy/libcrm.env",
    "LIBCRM_ILS_PASSWORD": "only for an ILS read through its API, set in deploy/libcrm.env",
    "LIBCRM_ALERT_TO": "alerts are off until the operator names recipients in deploy/libcrm.env",
    "LIBCRM_ALERT_FROM": "with alerts, set in deploy/libcrm.env",
    "LIBCRM_SMTP_HOST": "with alerts, the library's mail server, set in deploy/libcrm.env",
    "LIBCRM_SMTP_PORT": "with alerts, set in deploy/libcrm.env",
    "LIBCRM_SMTP_TLS": "the documented default (STARTTLS) applies",
    "LIBCRM_SMTP_USER": "only for a mail server that requires a login (deploy/libcrm.env)",
    "LIBCRM_SMTP_PASSWORD": "only for a mail server that requires a login (deploy/libcrm.env)",
}
# What Airflow itself needs to find the DAG (read by Airflow, not by the code above).
AIRFLOW_VARIABLES = ("AIRFLOW_HOME", "AIRFLOW__CORE__DAGS_FOLDER")


def variables_the_code_reads() -> set[str]:
    """Every environment variable the code the scheduler runs reads: the settings' variables
    and the other programs' variables the code reads where those programs need them."""
    return set(settings.VARIABLES) | set(settings.OTHER_PROGRAMS)


class MissingVariableError(LookupError):
    """An interpolated variable is unset (or empty where ``:?`` forbids it): Compose stops."""


def interpolate(text: str, env: dict[str, str]) -> str:
    """Expand ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` and ``$$`` as Compose does."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 2)
            out.append(_expand(text[i + 2 : end], env))
            i = end + 1
        elif text[i] == "$" and NAME.match(text, i + 1):
            raise ValueError(f"unbraced variable in {text!r}: write ${{NAME}}, or $$ for a $")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    for index in range(start, len(text)):
        depth += text.startswith("${", index)
        depth -= text[index] == "}"
        if depth == 0:
            return index
    raise ValueError(f"unclosed ${{ in {text!r}")


def _expand(expression: str, env: dict[str, str]) -> str:
    name = NAME.match(expression)
    if name is None:
        raise ValueError(f"bad interpolation ${{{expression}}}")
    variable, rest = name.group(), expression[name.end() :]
    if not rest:
        if variable not in env:
            raise MissingVariableError(variable)
        return env[variable]
    for operator in (":-", ":?", "-", "?"):
        if rest.startswith(operator):
            argument = rest[len(operator) :]
            unset = variable not in env or (operator[0] == ":" and env[variable] == "")
            if not unset:
                return env[variable]
            if operator.endswith("-"):
                return interpolate(argument, env)
            raise MissingVariableError(f"{variable}: {argument}")
    raise ValueError(f"unsupported interpolation ${{{expression}}}")


def interpolated(node, env: dict[str, str]):
    """The YAML tree with every string value interpolated (Compose leaves keys alone)."""
    if isinstance(node, dict):
        return {key: interpolated(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolated(value, env) for value in node]
    return interpolate(node, env) if isinstance(node, str) else node


def strings(node):
    if isinstance(node, dict):
        node = list(node.values())
    if isinstance(node, list):
        for value in node:
            yield from strings(value)
    elif isinstance(node, str):
        yield node


def read_env_example() -> tuple[dict[str, str], set[str]]:
    """The assignments of deploy/env.example, and every name it documents (commented ones too)."""
    assigned, documented = {}, set()
    for line in (ROOT / "deploy" / "env.example").read_text().splitlines():
        match = re.match(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            documented.add(match[2])
            if not match[1]:
                assigned[match[2]] = match[3]
    return assigned, documented


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    instructions, current = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        keyword, _, arguments = (current + line).strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    return instructions


def image_env() -> dict[str, str]:
    tokens = [t for k, args in dockerfile() if k == "ENV" for t in shlex.split(args)]
    return dict(token.partition("=")[::2] for token in tokens)


def runtime_user_folders() -> set[str]:
    """Folders the image creates (``mkdir -p``) under a path it gives the runtime user
    (``chown -R``): a named volume mounted on one takes that owner and is writable."""
    env = image_env()
    created, owned = set(), []
    for keyword, args in dockerfile():
        if keyword != "RUN":
            continue
        for command in args.split("&&"):
            words = shlex.split(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m[1], m[0]), command))
            if words[:2] == ["mkdir", "-p"]:
                created.update(words[2:])
            if words[:2] == ["chown", "-R"]:
                owned.extend(PurePosixPath(path) for path in words[3:])
    return {
        path
        for path in created
        if any(PurePosixPath(path).is_relative_to(owner) for owner in owned)
    }


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` (relative to the build context) out of the context."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        glob = re.escape(pattern.lstrip("!").strip("/")).replace(r"\*\*/", "(?:.*/)?")
        glob = glob.replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(glob, candidate) for candidate in candidates):
            ignored = not negated
    return ignored


def mounts(service: dict) -> list[tuple[str, str]]:
    """(source, target) of each short-syntax volume; a source starting with . or / is a bind."""
    return [tuple(entry.split(":")[:2]) for entry in service.get("volumes", [])]


def dependencies(service: dict) -> dict[str, str]:
    depends_on = service.get("depends_on", {})
    if isinstance(depends_on, list):
        return dict.fromkeys(depends_on, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in depends_on.items()}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def filled_env() -> dict[str, str]:
    """deploy/env.example with each empty value filled, as a user's deploy/libcrm.env is."""
    assigned, _ = read_env_example()
    return {name: value or f"{name.lower()}-0123456789" for name, value in assigned.items()}


@pytest.fixture(scope="module")
def services(compose, filled_env) -> dict:
    return interpolated(compose, filled_env)["services"]


def test_vendored_schema_is_the_official_compose_specification():
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA.read_text()))


def test_compose_file_follows_the_compose_specification(compose, filled_env):
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    for document in (compose, interpolated(compose, filled_env)):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == []
    assert "version" not in compose, "the Compose Specification has no version key"
    broken = copy.deepcopy(compose)
    broken["services"]["warehouse"]["healtcheck"] = broken["services"]["warehouse"]["healthcheck"]
    broken["services"]["airflow-init"]["depends_on"]["airflow-db"]["condition"] = "service_ready"
    assert len(list(validator.iter_errors(broken))) >= 2, "the schema must catch typos"


def test_env_example_defines_every_variable_the_compose_file_uses(compose):
    assigned, documented = read_env_example()
    text = "\n".join(s.replace("$$", "") for s in strings(compose))
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    required = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?", text))
    assert used - documented == set()
    assert required - set(assigned) == set(), "required variables need a line to fill"
    empty = {name for name, value in assigned.items() if value == ""}
    assert empty - required == set(), "an empty value nobody requires would pass silently"
    assert "LIBCRM_PSEUDONYM_KEY" not in assigned, "it would override the key file secret"


def test_an_unfilled_copy_of_env_example_stops_compose(compose, filled_env):
    assigned, _ = read_env_example()
    with pytest.raises(MissingVariableError):
        interpolated(compose, assigned)
    for name in [n for n, value in assigned.items() if value == ""]:
        with pytest.raises(MissingVariableError, match=name):
            interpolated(compose, {**filled_env, name: ""})


def test_build_contexts_dockerfiles_build_args_and_bind_mounts_exist(compose):
    declared = {args.partition("=")[0] for keyword, args in dockerfile() if keyword == "ARG"}
    for name, service in compose["services"].items():
        if "build" in service:
            context = ROOT / service["build"]["context"]
            assert (context / service["build"].get("dockerfile", "Dockerfile")).is_file(), name
            assert set(service["build"].get("args", {})) <= declared, f"{name}: unknown ARG"
        for source, _ in mounts(service):
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_env_files_and_secret_files_exist_or_are_the_documented_ignored_ones(compose):
    env_files = {s["env_file"] for s in compose["services"].values() if "env_file" in s}
    secret_files = {s["file"] for s in compose["secrets"].values()}
    assert env_files and secret_files
    for path in env_files | secret_files:
        ignored = (ROOT / path).parent.joinpath(".gitignore").read_text().split()
        assert (ROOT / path).name in ignored, f"{path} holds secrets: git must ignore it"
        assert dockerignored(path), f"{path} must stay out of the build context"
        assert (ROOT / path).exists() or path in DEPLOY_DOC, f"{path}: missing, undocumented"
    for path in env_files:
        assert f"cp deploy/env.example {path}" in DEPLOY_DOC
    for path in secret_files:
        assert f"keygen --path {path}" in DEPLOY_DOC
        assert f"openssl rand -hex 32 > {path}" in DEPLOY_DOC


def test_depends_on_names_services_and_one_shot_jobs_are_awaited(compose):
    services = compose["services"]
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in services.items():
        for dependency, condition in dependencies(service).items():
            assert dependency in services, f"{name} depends on undefined {dependency}"
            assert condition in conditions
            expected = services[dependency].get("restart") == "no"
            assert (condition == "service_completed_successfully") == expected, (name, dependency)
    for service in services.values():
        if service.get("build") and service.get("restart") != "no":
            assert dependencies(service).get("airflow-init") == "service_completed_successfully"
    assert not any("warehouse" in dependencies(s) for s in services.values()), (
        "docs/deploy.md starts the Airflow services alone to use an existing warehouse"
    )


def test_every_long_running_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        if service.get("restart") != "no":
            check = service.get("healthcheck", {})
            assert check.get("test") and not check.get("disable"), name


def test_named_volumes_are_declared_and_used(compose):
    used = {
        source
        for service in compose["services"].values()
        for source, _ in mounts(service)
        if not source.startswith((".", "/"))
    }
    assert used == set(compose["volumes"])


def test_airflow_services_share_one_config_with_the_locked_drivers(services):
    lock = (ROOT / "requirements.lock").read_text()
    drivers = {"psycopg2": "psycopg2-binary", "psycopg": "psycopg", "asyncpg": "asyncpg"}
    airflow = {name: s for name, s in services.items() if s.get("image") == "libcrm-airflow:local"}
    assert set(airflow) == {
        "airflow-init",
        "airflow-api-server",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
    }
    for name, service in airflow.items():
        env = {k.removeprefix("AIRFLOW__"): v for k, v in service["environment"].items()}
        assert env["CORE__EXECUTOR"] == "LocalExecutor"
        assert env["CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-api-server:8080/execution/"
        parallelism = int(env["CORE__PARALLELISM"])
        assert int(env["CORE__MAX_ACTIVE_TASKS_PER_DAG"]) <= parallelism <= 2, "2 cores"
        assert urlsplit(env["DATABASE__SQL_ALCHEMY_CONN"]).scheme == "postgresql+psycopg2"
        for key in ("DATABASE__SQL_ALCHEMY_CONN", "DATABASE__SQL_ALCHEMY_CONN_ASYNC"):
            url = urlsplit(env[key])
            database = services[url.hostname]["environment"]
            expected = (database["POSTGRES_USER"], database["POSTGRES_PASSWORD"])
            assert (url.username, url.password) == expected, f"{name} {key}"
            assert url.path == f"/{database['POSTGRES_DB']}", f"{name} {key}"
            driver = drivers[url.scheme.partition("+")[2]]
            assert re.search(rf"^{driver}==", lock, re.MULTILINE), f"{key}: {driver} is not locked"
    assert "8080" in services["airflow-api-server"]["ports"][0].split(":")[-1]


def test_the_scheduler_has_every_variable_the_code_reads_and_a_writable_volume_per_folder(
    compose, services, filled_env
):
    scheduler = services["airflow-scheduler"]
    env = {**image_env(), **scheduler["environment"]}
    read = variables_the_code_reads()
    assert {"LIBCRM_DATABASE_URL", "LIBCRM_REPORTS_DIR", "OPENBLAS_NUM_THREADS"} <= read
    assert set(UNSET_ON_PURPOSE) - read == set(), "the code no longer reads these: drop them"
    required = (read - set(UNSET_ON_PURPOSE)) | set(AIRFLOW_VARIABLES)
    assert sorted(name for name in required if not env.get(name)) == []
    assert "LIBCRM_PSEUDONYM_KEY" not in env
    assert env["OPENBLAS_NUM_THREADS"] == "1"
    url = urlsplit(env["LIBCRM_DATABASE_URL"])
    warehouse = services[url.hostname]["environment"]
    init_sql = (ROOT / "deploy" / "init-warehouse.sql").read_text()
    role = re.search(r"create role (\w+) login", init_sql)
    assert (url.username, url.password) == (role[1], warehouse["LIBCRM_WAREHOUSE_PASSWORD"])
    assert url.path == f"/{warehouse['POSTGRES_DB']}"
    key = PurePosixPath(env["LIBCRM_PSEUDONYM_KEY_FILE"])
    assert key.parent == PurePosixPath("/run/secrets") and key.name in scheduler["secrets"]
    assert key.name in compose["secrets"]
    targets = {target: source for source, target in mounts(scheduler)}
    folders = [name for name in required if name.endswith("_DIR")]
    assert {"LIBCRM_LANDING_DIR", "LIBCRM_DATA_DOCS_DIR", "LIBCRM_REPORTS_DIR"} <= set(folders)
    for name in folders:
        assert targets.get(env[name]) in compose["volumes"], f"{name} is on no named volume"
        assert env[name] in runtime_user_folders(), f"{name}: the image does not create it"
    external = "postgresql://libcrm:pw@db.example.edu:5432/libcrm"
    overridden = interpolated(compose, {**filled_env, "LIBCRM_DATABASE_URL": external})
    scheduler_env = overridden["services"]["airflow-scheduler"]["environment"]
    assert scheduler_env["LIBCRM_DATABASE_URL"] == external


def test_warehouse_init_script_reads_the_mounted_sql_and_password(services):
    warehouse = services["warehouse"]
    targets = {Path(source).name: target for source, target in mounts(warehouse)}
    script = (ROOT / "deploy" / "init-warehouse.sh").read_text()
    assert re.search(r"--file (\S+)", script)[1] == targets["init-warehouse.sql"]
    assert targets["init-warehouse.sh"].startswith("/docker-entrypoint-initdb.d/")
    assert os.access(ROOT / "deploy" / "init-warehouse.sh", os.X_OK)
    for variable in re.findall(r"\$\{?([A-Z_]+)", script):
        assert variable in warehouse["environment"], f"init-warehouse.sh reads unset {variable}"


def test_dockerfile_installs_like_the_makefile_and_copies_what_exists():
    instructions = dockerfile()
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    makefile_uv = re.search(r"^UV_VERSION := (\S+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert ("ARG", f"UV_VERSION={makefile_uv[1]}") in instructions
    assert "uv pip install --system -r requirements.lock" in runs
    assert "uv pip install --system --no-deps -e ." in runs
    assert instructions[0][1].startswith("python:3.11-slim")
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image must run as a non-root user"
    for keyword, args in instructions:
        if keyword == "COPY":
            for source in [t for t in shlex.split(args) if not t.startswith("--")][:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: no such file"
                assert not dockerignored(source), f"COPY {source}: excluded by .dockerignore"


def test_the_image_dags_folder_is_the_repository_dags_folder():
    workdir = PurePosixPath([args for keyword, args in dockerfile() if keyword == "WORKDIR"][-1])
    dags = PurePosixPath(image_env()["AIRFLOW__CORE__DAGS_FOLDER"]).relative_to(workdir)
    assert (ROOT / dags / "library_nightly.py").is_file()
    copied = [shlex.split(args)[-1] for keyword, args in dockerfile() if keyword == "COPY"]
    assert str(dags) in [c.rstrip("/") for c in copied], "the DAGs folder is not copied"

"""Airflow's long-running services (api-server, scheduler, dag-processor) for one environment.

``AirflowServices`` starts them as background processes with the LocalExecutor, the API on a
free loopback port, waits until the API reports them healthy, and stops every process it
started (and their task processes) on exit, also when the block it guards fails.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

SERVICES = ("api-server", "scheduler", "dag-processor")
LOOPBACK = "127.0.0.1"
# Three Airflow processes importing the whole stack on two busy cores take about a minute.
START_TIMEOUT_S = 240.0
# The DAG processor parses dags/ every few seconds once it runs; a minute is ample.
PARSE_TIMEOUT_S = 120.0
# A scheduler ends its running tasks on SIGTERM; give them that long before SIGKILL.
STOP_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 2.0
HTTP_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 80
# Sized for two cores, as in docker-compose.yml: two task processes, one worker, one parser.
DEFAULT_SETTINGS = {
    "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
    "AIRFLOW__CORE__PARALLELISM": "2",
    "AIRFLOW__API__WORKERS": "1",
    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
}
# The simple auth manager's users when none are configured; their passwords are generated.
DEFAULT_USER = "admin"


class AirflowServiceError(RuntimeError):
    """An Airflow service did not start, stopped early, or did not answer in time."""


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class AirflowServices:
    """Run Airflow's services of one environment in the background; a context manager.

    Parameters
    ----------
    env : Mapping[str, str]
        Variables on top of ``os.environ``: at least ``AIRFLOW_HOME`` and
        ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` (a PostgreSQL metadata database, which the
        LocalExecutor needs), plus whatever the DAGs' tasks read.
    log_dir : pathlib.Path
        Where each service writes ``<service>.log``.
    services : sequence of str
        Which services to run (default: api-server, scheduler, dag-processor).
    """

    def __init__(
        self, env: Mapping[str, str], log_dir: Path, services: Sequence[str] = SERVICES
    ) -> None:
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log_dir = Path(log_dir)
        self.services = tuple(services)
        self.environment = {**os.environ, **DEFAULT_SETTINGS, **env}
        self.environment.update(
            {
                "AIRFLOW__API__HOST": LOOPBACK,
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            }
        )
        # Tokens the API server signs must verify in the scheduler's task processes.
        for name in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
            self.environment.setdefault(name, secrets.token_hex(32))
        self._processes: dict[str, subprocess.Popen] = {}
        self._token: str | None = None

    def __enter__(self) -> AirflowServices:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def cli(self, args: Sequence[str], log_name: str, timeout: float = 600.0):
        """Run ``airflow ARGS`` in this environment; its output goes to ``log_dir/log_name``."""
        binary = Path(sys.executable).with_name("airflow")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / log_name).open("w") as log:
            return subprocess.run(
                [str(binary), *args],
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        """Start the services and wait until the API says each is healthy."""
        binary = Path(sys.executable).with_name("airflow")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for service in self.services:
            api = service == "api-server"
            extra = ["--host", LOOPBACK, "--port", str(self.port)] if api else []
            with (self.log_dir / f"{service}.log").open("w") as log:
                self._processes[service] = subprocess.Popen(
                    [str(binary), service, *extra],
                    env=self.environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    # Its own process group, so stop() reaches the workers it forks.
                    start_new_session=True,
                )
        self._wait(self._healthy, timeout, "the Airflow services to report healthy")

    def _healthy(self) -> bool:
        try:
            health = self._request("GET", "/api/v2/monitor/health", authenticated=False)
        except (urllib.error.URLError, OSError, ValueError):
            return False
        wanted = {"scheduler": "scheduler", "dag-processor": "dag_processor"}
        parts = ["metadatabase"] + [wanted[s] for s in self.services if s in wanted]
        return all((health.get(part) or {}).get("status") == "healthy" for part in parts)

    def wait_for_dag(self, dag_id: str, timeout: float = PARSE_TIMEOUT_S) -> dict:
        """Wait until the DAG processor has parsed ``dag_id``; return the API's view of it."""

        def parsed() -> dict | None:
            try:
                return self.api("GET", f"/api/v2/dags/{dag_id}")
            except urllib.error.HTTPError as error:
                if error.code == 404:
                    return None
                raise

        return self._wait(parsed, timeout, f"DAG {dag_id} to be parsed from the dags folder")

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """Call the Airflow REST API as the simple auth manager's admin; return the JSON."""
        return self._request(method, path, body, authenticated=True)

    def _request(
        self, method: str, path: str, body: dict | None = None, authenticated: bool = True
    ) -> dict:
        headers = {"Content-Type": "application/json"}
        if authenticated:
            headers["Authorization"] = f"Bearer {self._access_token()}"
        data = None if body is None else json.dumps(body).encode()
        # self.url is always http://127.0.0.1:<port>, built in __init__.
        request = urllib.request.Request(self.url + path, data, headers, method=method)  # noqa: S310
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
            return json.loads(response.read() or b"{}")

    def _access_token(self) -> str:
        if self._token is None:
            passwords = Path(
                self.environment.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
                or Path(self.environment["AIRFLOW_HOME"])
                / "simple_auth_manager_passwords.json.generated"
            )
            password = json.loads(passwords.read_text())[DEFAULT_USER]
            login = {"username": DEFAULT_USER, "password": password}
            self._token = self._request("POST", "/auth/token", login, authenticated=False)[
                "access_token"
            ]
        return self._token

    def _wait(self, ready, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while True:
            self.check_running()
            result = ready()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AirflowServiceError(
                    f"timed out after {timeout:.0f} s waiting for {what} at {self.url}; "
                    f"see the logs in {self.log_dir}"
                )
            time.sleep(POLL_INTERVAL_S)

    def check_running(self) -> None:
        """Raise AirflowServiceError, with the log's tail, when a started service has exited."""
        for service, process in self._processes.items():
            if process.poll() is not None:
                raise AirflowServiceError(
                    f"airflow {service} exited with code {process.returncode}; its log "
                    f"{self.log_dir / f'{service}.log'} ends with:\n{self.log_tail(service)}"
                )

    def log_tail(self, service: str, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of a service's log ('' when it has none)."""
        path = self.log_dir / f"{service}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop every started service and the processes it forked: SIGTERM, then SIGKILL."""
        # The scheduler first, so that it ends its task processes while the API still answers.
        order = sorted(self._processes, key=lambda s: s != "scheduler")
        for service in order:
            process = self._processes[service]
            descendants = _descendants(process.pid)
            if process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    _signal_group(process.pid, signal.SIGKILL)
                    process.wait(timeout=STOP_TIMEOUT_S)
            # Task processes run in process groups of their own: end the ones left over.
            _, alive = psutil.wait_procs(descendants, timeout=STOP_TIMEOUT_S)
            for leftover in alive:
                try:
                    leftover.kill()
                except psutil.NoSuchProcess:
                    continue
        self._processes.clear()


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        return

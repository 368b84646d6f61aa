"""The embedded default warehouse: a private PostgreSQL cluster under ``.local/pg``.

It listens on 127.0.0.1 on a port chosen once and kept, requires a password generated at
creation, and never touches the user's other clusters. PostgreSQL binaries are taken from the
machine (``initdb`` on PATH or a Debian/Homebrew install); failing that, from the ``pgserver``
package, which bundles them.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from libcrm import config

ADMIN_USER = "libcrm_admin"
DATABASE = "libcrm"
# pgserver is installed on demand only: most machines have PostgreSQL binaries already.
PGSERVER_REQUIREMENT = "pgserver==0.1.4"
# Candidate names of an unprivileged account to run the server as when we are root.
SERVICE_USERS = ("postgres", "libcrm")


class EmbeddedDatabaseError(RuntimeError):
    """The embedded PostgreSQL cannot be created or started; the message says why and what to do."""


@dataclass(frozen=True)
class Cluster:
    """Paths of one embedded cluster."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def port_file(self) -> Path:
        return self.root / "port"

    @property
    def password_file(self) -> Path:
        return self.root / "password"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = DATABASE) -> str:
        password = self.password_file.read_text().strip()
        port = self.port_file.read_text().strip()
        return f"postgresql://{ADMIN_USER}:{password}@127.0.0.1:{port}/{database}"


def find_bindir() -> Path | None:
    """Return a folder holding ``initdb`` and ``pg_ctl``, or None when the machine has none."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).parent] if on_path else []
    patterns = ("/usr/lib/postgresql/*/bin", "/usr/local/opt/postgresql*/bin", "/opt/homebrew/bin")
    for pattern in patterns:
        candidates += sorted((Path(p) for p in glob.glob(pattern)), reverse=True)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def pgserver_bindir() -> Path:
    """Install the ``pgserver`` wheel (bundled PostgreSQL) if needed and return its binaries."""
    try:
        import pgserver  # noqa: F401
    except ImportError:
        print(f"no PostgreSQL binaries found; installing {PGSERVER_REQUIREMENT} ...", flush=True)
        uv = Path(sys.executable).with_name("uv")
        installer = [str(uv), "pip", "install", "--python", sys.executable]
        if not uv.exists():
            installer = [sys.executable, "-m", "pip", "install"]
        done = subprocess.run([*installer, PGSERVER_REQUIREMENT], capture_output=True, text=True)
        if done.returncode != 0:
            raise EmbeddedDatabaseError(
                "cannot start the embedded PostgreSQL: no PostgreSQL server binaries on this "
                f"machine and installing {PGSERVER_REQUIREMENT} failed "
                f"({done.stderr.strip()[-300:]}). "
                "Install PostgreSQL (e.g. `apt-get install postgresql`) or set "
                "LIBCRM_DATABASE_URL to a server you have."
            ) from None
    import pgserver

    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def service_user() -> str | None:
    """Return the account to run the server as: None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in SERVICE_USERS:
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "libcrm"], check=True)
    return "libcrm"


def _run(args: list[str], user: str | None) -> subprocess.CompletedProcess[str]:
    command = ["runuser", "-u", user, "--", *args] if user else args
    return subprocess.run(command, capture_output=True, text=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _check_reachable_by(user: str, path: Path) -> None:
    if _run(["test", "-w", str(path)], user).returncode != 0:
        raise EmbeddedDatabaseError(
            f"the embedded PostgreSQL must run as the unprivileged user '{user}', who cannot "
            f"write {path}: clone libcrm into a folder that user can reach, or set "
            "LIBCRM_DATABASE_URL to a server you have"
        )


def init_cluster(cluster: Cluster, bindir: Path, user: str | None) -> None:
    """Create the cluster's data folder, password and port."""
    cluster.root.mkdir(parents=True, exist_ok=True)
    cluster.password_file.write_text(secrets.token_urlsafe(24))
    cluster.password_file.chmod(0o600)
    cluster.port_file.write_text(str(_free_port()))
    if user:
        shutil.chown(cluster.root, user)
        shutil.chown(cluster.password_file, user)
        _check_reachable_by(user, cluster.root)
    done = _run(
        [
            str(bindir / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            ADMIN_USER,
            "--auth=scram-sha-256",
            f"--pwfile={cluster.password_file}",
            "--encoding=UTF8",
            "--no-locale",
        ],
        user,
    )
    if done.returncode != 0:
        shutil.rmtree(cluster.data, ignore_errors=True)
        raise EmbeddedDatabaseError(f"initdb failed in {cluster.data}:\n{done.stderr.strip()}")


def start_cluster(cluster: Cluster, bindir: Path, user: str | None) -> None:
    """Start the server unless it already answers, keeping the recorded port when it is free."""
    if _server_answers(cluster):
        return
    port = int(cluster.port_file.read_text())
    if not _port_is_free(port):
        port = _free_port()
        cluster.port_file.write_text(str(port))
    options = f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
    done = _run(
        [str(bindir / "pg_ctl"), "-D", str(cluster.data), "-l", str(cluster.log_file), "-w"]
        + ["-o", options, "start"],
        user,
    )
    if done.returncode != 0:
        log_tail = cluster.log_file.read_text()[-1500:] if cluster.log_file.exists() else ""
        raise EmbeddedDatabaseError(
            f"the embedded PostgreSQL in {cluster.data} did not start:\n"
            f"{done.stderr.strip()}\n{log_tail}"
        )


def stop_cluster(cluster: Cluster) -> None:
    """Stop the server if it runs."""
    bindir = find_bindir() or pgserver_bindir()
    if cluster.data.exists():
        _run(
            [str(bindir / "pg_ctl"), "-D", str(cluster.data), "-m", "fast", "stop"], service_user()
        )


def _server_answers(cluster: Cluster) -> bool:
    try:
        with psycopg.connect(cluster.url("postgres"), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def ensure_embedded(root: Path | None = None) -> str:
    """Create (first time) and start the embedded cluster (by default under the state folder's
    ``pg``); return the warehouse URL."""
    cluster = Cluster(root or config.state_dir() / "pg")
    bindir = find_bindir() or pgserver_bindir()
    user = service_user()
    if not (cluster.data / "PG_VERSION").exists():
        init_cluster(cluster, bindir, user)
    start_cluster(cluster, bindir, user)
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [DATABASE]).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
    return cluster.url()

"""The rules for the settings libcrm needs: the warehouse URL libpq can read, the pseudonym key.

The values come from :mod:`libcrm.settings`; the readers here check them and apply defaults.
"""

from __future__ import annotations

import hmac
import logging
import os
import stat
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from libcrm.settings import CHECKOUT, PROJECT_ROOT, ConfigError, load

# 256 bits, the full strength of HMAC-SHA-256; keygen writes 32 random bytes as 64 hex digits.
MIN_KEY_BYTES = 32

log = logging.getLogger(__name__)


def state_dir() -> Path:
    """Where the demo keeps its files (``LIBCRM_STATE_DIR``, by default ``.local``)."""
    return load().state_dir


def database_url_file() -> Path:
    """The file where the demo records the warehouse URL it started."""
    return state_dir() / "database_url"


def default_key_file() -> Path:
    """The demo's pseudonym key file, used when no key is configured."""
    return state_dir() / "pseudonym.key"


def database_url() -> str:
    """Return the warehouse URL: ``LIBCRM_DATABASE_URL``, else the one the demo recorded.

    The URL is checked as libpq reads it (``postgresql://[user[:password]@][host][:port]/db``,
    host and port optional, ``?host=/socket/dir`` and other parameters allowed); one it cannot
    read raises ConfigError naming where it came from.
    """
    url = (load().database_url or "").strip()
    origin, recorded = "LIBCRM_DATABASE_URL", database_url_file()
    if not url and recorded.exists():
        url, origin = recorded.read_text().strip(), str(recorded)
    if not url:
        raise ConfigError(
            "no warehouse configured: set LIBCRM_DATABASE_URL=postgresql://user@host:port/db "
            "or run `make demo` once to start the embedded PostgreSQL"
        )
    check_database_url(url, origin)
    return url


def check_database_url(url: str, origin: str = "LIBCRM_DATABASE_URL") -> dict[str, str]:
    """Return the connection parameters of a ``postgresql://`` URL as libpq parses them."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"{origin} does not start with postgresql://: write it as "
            "postgresql://user:password@host:port/db"
        )
    try:
        return conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        problem = str(error).replace(url, "the URL")  # the URL may hold a password
        raise ConfigError(f"{origin} is not a URL libpq can read: {problem}") from None


def checkout(purpose: str) -> Path:
    """Return the libcrm checkout the package runs from, for tooling that needs its folders.

    Parameters
    ----------
    purpose
        What needs the checkout (``"the demo runs dags/library_nightly.py"``), for the message.

    Raises
    ------
    ConfigError
        The package is installed without a checkout.
    """
    if not CHECKOUT:
        raise ConfigError(
            f"{purpose}, which only a checkout of libcrm has (this libcrm is installed in "
            f"{PROJECT_ROOT}): run it from a clone of the repository"
        )
    return PROJECT_ROOT


def dbt_project_dir() -> Path:
    """Return the dbt project to build: ``LIBCRM_DBT_PROJECT_DIR``, by default the checkout's.

    Raises
    ------
    ConfigError
        No project is configured (an installed package), or the folder holds no dbt project.
    """
    folder = load().dbt_project_dir
    if folder is None:
        raise ConfigError(
            "no dbt project: set LIBCRM_DBT_PROJECT_DIR to the dbt_project folder of a libcrm "
            "checkout of this version (an installed package does not include it)"
        )
    if not (folder / "dbt_project.yml").is_file():
        raise ConfigError(
            f"LIBCRM_DBT_PROJECT_DIR={folder} holds no dbt_project.yml: set it to the "
            "dbt_project folder of a libcrm checkout of this version"
        )
    return folder


def landing_dir() -> Path:
    """Return the landing folder where source exports arrive."""
    return load().landing_dir


def required_sources() -> frozenset[str]:
    """Return the sources whose missing export fails the day (``LIBCRM_REQUIRED_SOURCES``, a
    comma-separated list; by default a missing export is a warning)."""
    return load().required_sources


def _checked_key(value: bytes, origin: str) -> bytes:
    """The key from ``origin`` without surrounding whitespace, if it is long enough."""
    key = value.strip()
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"the pseudonym key in {origin} is {len(key)} bytes, shorter than {MIN_KEY_BYTES}: "
            "`python -m libcrm keygen --path FILE` writes a new key file"
        )
    return key


def loose_key_file_warning(path: Path) -> str | None:
    """Say how to fix a key file that its group or others may read; None when it is private."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return None
    return (
        f"pseudonym key file {path} has mode {mode:04o}, readable by its group or others: "
        f"run `chmod 600 {path}`"
    )


def read_key_file(path: Path, setting: str = "LIBCRM_PSEUDONYM_KEY_FILE") -> bytes:
    """Return the key in ``path`` (named by ``setting``), checked like every key, with a
    warning when its group or others may read it."""
    if not path.is_file():
        raise ConfigError(
            f"no pseudonym key file at {path} ({setting}): name the file of the key the "
            "warehouse was built with, or write a new one with `python -m libcrm keygen --path "
            "FILE`"
        )
    warning = loose_key_file_warning(path)
    if warning:
        log.warning("%s", warning)
    return _checked_key(path.read_bytes(), str(path))


def pseudonym_key() -> bytes:
    """Return the secret for keyed pseudonyms, from the environment or a key file.

    The key is ``LIBCRM_PSEUDONYM_KEY``, or the content of the file named by
    ``LIBCRM_PSEUDONYM_KEY_FILE``, else of the demo's key file under ``.local/``. Either is at
    least ``MIN_KEY_BYTES`` long once surrounding whitespace is removed; when both variables
    are set they must hold the same key.
    """
    settings = load()
    value = settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else ""
    named = settings.pseudonym_key_file
    if not value:
        if named:
            return read_key_file(named)
        unset = "neither LIBCRM_PSEUDONYM_KEY nor LIBCRM_PSEUDONYM_KEY_FILE is set"
        return read_key_file(default_key_file(), f"the demo's key file: {unset}")
    key = _checked_key(value.encode(), "LIBCRM_PSEUDONYM_KEY")
    if named and not hmac.compare_digest(key, read_key_file(named)):
        raise ConfigError(
            f"LIBCRM_PSEUDONYM_KEY and LIBCRM_PSEUDONYM_KEY_FILE ({named}) hold different keys: "
            "unset one of them (the key file is the safer place for the secret)"
        )
    return key


def write_secret(path: Path, value: str) -> None:
    """Write ``value`` to a file only its owner can read (mode 0600 from its creation: a
    write then a chmod would leave it readable by others in between)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a file that existed before keeps its mode through os.open
    with os.fdopen(descriptor, "w") as out:
        out.write(value + "\n")


def write_key_file(path: Path | None = None) -> Path:
    """Create a random pseudonym key file readable by its owner only, unless one exists (by
    default the demo's key file)."""
    path = path or default_key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(os.urandom(32).hex())
    return path

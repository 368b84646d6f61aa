"""Settings read from the environment, with the defaults the contract documents."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = PROJECT_ROOT / ".local"
DATABASE_URL_FILE = LOCAL_DIR / "database_url"
DEFAULT_KEY_FILE = LOCAL_DIR / "pseudonym.key"


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    """Where libcrm reads from and writes to."""

    database_url: str
    landing_dir: Path


def database_url() -> str:
    """Return the warehouse URL: ``LIBCRM_DATABASE_URL``, else the one the demo recorded."""
    url = os.environ.get("LIBCRM_DATABASE_URL", "").strip()
    if url:
        return url
    if DATABASE_URL_FILE.exists():
        return DATABASE_URL_FILE.read_text().strip()
    raise ConfigError(
        "no warehouse configured: set LIBCRM_DATABASE_URL=postgresql://user@host:port/db "
        "or run `make demo` once to start the embedded PostgreSQL"
    )


def landing_dir() -> Path:
    """Return the landing folder where source exports arrive."""
    return Path(os.environ.get("LIBCRM_LANDING_DIR", PROJECT_ROOT / "data" / "landing"))


def required_sources() -> frozenset[str]:
    """Return the sources whose missing export fails the day (``LIBCRM_REQUIRED_SOURCES``, a
    comma-separated list; by default a missing export is a warning)."""
    listed = os.environ.get("LIBCRM_REQUIRED_SOURCES", "")
    return frozenset(name.strip() for name in listed.split(",") if name.strip())


def settings() -> Settings:
    """Read every setting at once."""
    return Settings(database_url=database_url(), landing_dir=landing_dir())


def pseudonym_key() -> bytes:
    """Return the secret for keyed pseudonyms, from the environment or a key file.

    The key is read from ``LIBCRM_PSEUDONYM_KEY``, else from the file named by
    ``LIBCRM_PSEUDONYM_KEY_FILE``, else from the demo's key file under ``.local/``.
    """
    key = os.environ.get("LIBCRM_PSEUDONYM_KEY", "")
    if key:
        return key.encode()
    path = Path(os.environ.get("LIBCRM_PSEUDONYM_KEY_FILE", DEFAULT_KEY_FILE))
    if not path.exists():
        raise ConfigError(
            f"no pseudonym key: set LIBCRM_PSEUDONYM_KEY or LIBCRM_PSEUDONYM_KEY_FILE "
            f"(looked for {path}); `python -m libcrm keygen` writes a new key file"
        )
    key_bytes = path.read_bytes().strip()
    if len(key_bytes) < 32:
        raise ConfigError(f"pseudonym key in {path} is shorter than 32 bytes: generate a new one")
    return key_bytes


def write_key_file(path: Path = DEFAULT_KEY_FILE) -> Path:
    """Create a random pseudonym key file readable by its owner only, unless one exists."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(os.urandom(32).hex())
    return path

"""The landing folder: where a source's exports for a day are, whether the day has any, and
which files lie there that the loader will not load."""

from __future__ import annotations

import logging
import re
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path

from libcrm import config
from libcrm.ingest.fields import Entity
from libcrm.ingest.layout import SourceFormatError
from libcrm.ingest.loader import LoadResult
from libcrm.ingest.mapping import Mapping
from libcrm.ingest.sources import BY_SOURCE

log = logging.getLogger(__name__)
# What a download or a copy adds to a file's name: "loans (1).csv", "loans-copy.csv".
COPY_MARK = re.compile(r"(?:\s*\(\d+\)|[\s_-]*copy(?:\s*\d+)?)$", re.IGNORECASE)


class Loads(list[LoadResult]):
    """The results of one source's day, one per file in load order, and what the run's result
    must tell beyond them: ``warnings`` (also logged at WARNING) and ``misnamed`` files."""

    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[str] = []
        self.misnamed: list[str] = []

    def warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(message)


def day_folder(landing: Path, source: str, data_date: date) -> Path:
    """Return ``<landing>/<source>/<day>``; a landing folder that is missing, or holds no
    source folder at all (an unmounted share), is a configuration error."""
    required_sources()  # a wrong setting stops the run before anything is read
    where = f"landing folder {landing} (LIBCRM_LANDING_DIR)"
    if not landing.is_dir():
        raise config.ConfigError(
            f"{where} does not exist or is not a folder: mount it, or set LIBCRM_LANDING_DIR "
            "to the folder the exports arrive in"
        )
    if not any((landing / name).is_dir() for name in BY_SOURCE):
        raise config.ConfigError(
            f"{where} holds none of {', '.join(f'{name}/' for name in BY_SOURCE)}: is it "
            "mounted? Mount it, or set LIBCRM_LANDING_DIR to the folder the exports arrive in"
        )
    return landing / source / data_date.isoformat()


def required_sources() -> frozenset[str]:
    """The sources whose missing export fails the day (``LIBCRM_REQUIRED_SOURCES``)."""
    chosen = config.required_sources()
    unknown = sorted(chosen.difference(BY_SOURCE))
    if unknown:
        raise config.ConfigError(
            f"LIBCRM_REQUIRED_SOURCES names {', '.join(unknown)}, which is not a source: "
            f"use a comma-separated list of {', '.join(BY_SOURCE)}"
        )
    return chosen


def exported(path: Path) -> bool:
    """Whether an export lies at ``path`` (a broken link counts: reading it says why)."""
    return path.is_symlink() or path.exists()


def export_of(folder: Path, entity: Entity, mapping: Mapping) -> Path | None:
    """The entity's export in the day's folder: the one file its name pattern (the mapping's,
    else the documented name) matches, or None.

    Raises
    ------
    SourceFormatError
        When the pattern matches more than one file: which one to load is not guessed.
    """
    pattern = mapping.pattern(entity)
    if pattern == entity.file_name:
        path = folder / pattern
        return path if exported(path) else None
    if not folder.is_dir():
        return None
    found = sorted(p for p in folder.iterdir() if _matches(p.name, pattern))
    if len(found) > 1:
        raise SourceFormatError(
            found[0].relative_to(folder.parent.parent).as_posix(),
            f"{len(found)} files match {mapping.key(entity, 'file')} {pattern!r} in "
            f"{mapping.where} ({', '.join(p.name for p in found)}); nothing was loaded — keep "
            "one export per file and day, or make the pattern match one name, and run the day "
            "again",
        )
    return found[0] if found else None


def _matches(name: str, pattern: str) -> bool:
    return not name.startswith(".") and fnmatchcase(name, pattern)


def report_misnamed(
    folder: Path, landing: Path, source: str, loads: Loads, mapping: Mapping | None = None
) -> None:
    """Warn about each file of the day's folder the loader does not load, naming the export
    it looks like (``loans (1).csv``, ``Loans.CSV`` -> ``loans.csv``). Hidden files are left
    alone."""
    if not folder.is_dir():
        return
    mapping = mapping or Mapping()
    expected = {mapping.pattern(entity) for entity in BY_SOURCE[source]}
    by_look = {name.lower(): name for name in expected}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or any(_matches(path.name, p) for p in expected):
            continue
        stem = COPY_MARK.sub("", Path(path.name).stem)
        looks_like = by_look.get(f"{stem}{path.suffix}".lower())
        name = path.relative_to(landing).as_posix()
        if looks_like:
            reason = f"an export must be named exactly {looks_like}: rename it"
        else:
            reason = f"not an export of {source} (expected {', '.join(sorted(expected))})"
        loads.misnamed.append(name)
        loads.warn(f"{name} is not loaded: {reason}")


def no_export(
    folder: Path, source: str, data_date: date, loads: Loads, mapping: Mapping | None = None
) -> None:
    """A source with none of its files for the day: a warning, or a failure of the day when
    ``LIBCRM_REQUIRED_SOURCES`` names the source."""
    files = ", ".join((mapping or Mapping()).pattern(entity) for entity in BY_SOURCE[source])
    message = f"no export for {data_date} in {folder} (none of {files})"
    if source in required_sources():
        raise SourceFormatError(
            f"{source}/{data_date.isoformat()}",
            f"{message}, and LIBCRM_REQUIRED_SOURCES says {source} delivers every day: deliver "
            "the export and run the day again",
        )
    loads.warn(
        f"{source}: {message}; if {source} should deliver every day, add it to "
        "LIBCRM_REQUIRED_SOURCES to fail such a day instead"
    )

"""Read and check the library's mapping file (``LIBCRM_EXPORT_MAPPING``) once per run: a file
that cannot be used is one ConfigError naming the file, each key and its fix, before anything
is loaded (and never retried: the file must change)."""

from __future__ import annotations

import codecs
import re
from datetime import datetime
from pathlib import Path

import yaml
from pydantic import ValidationError

from libcrm.ingest.fields import Column, Entity, RowError
from libcrm.ingest.mapping import (
    FORMATTED_RULES,
    SETTING,
    EntityMapping,
    Mapping,
    MappingFile,
    column_of,
)
from libcrm.ingest.sources import BY_SOURCE
from libcrm.settings import ConfigError, load

# A code a library adds is written like the documented ones: it reaches dbt's tests as SQL text.
CODE = re.compile(r"[a-z][a-z0-9_]*")
# Lines are split on b"\n" before decoding, so an encoding must write ASCII as ASCII.
ASCII_PROBE = "id,name\r\n"
SAMPLE_MOMENT = datetime(2026, 3, 16, 9, 5, 7)  # any moment: checks a format reads back


def _encoding_problem(name: str) -> str | None:
    try:
        codecs.lookup(name)
    except LookupError:
        return "is not an encoding Python knows"
    if ASCII_PROBE.encode(name) != ASCII_PROBE.encode("ascii"):
        return "does not write ASCII as ASCII (UTF-16 and the like cannot be read line by line)"
    return None


def _format_problem(form: str) -> str | None:
    try:
        datetime.strptime(SAMPLE_MOMENT.strftime(form), form)
    except ValueError as error:
        return f"is not a date format that reads back what it writes ({error})"
    return None if "%" in form else "holds no % code"


def _entity_problems(mapping: Mapping, entity: Entity) -> list[tuple[str, str, str]]:
    """(key, problem, fix) of each unusable part of the entity's entry."""
    mapped, key, problems = mapping.of(entity), mapping.key, []
    names = ", ".join(entity.names)
    if mapped.file and "/" in mapped.file:
        problems.append((key(entity, "file"), "names a folder", "give a file name pattern"))
    if mapped.encoding and (problem := _encoding_problem(mapped.encoding)):
        problems.append((key(entity, "encoding"), f"{mapped.encoding!r} {problem}", "use gb18030"))
    if mapped.delimiter in '"\r\n':
        fix = "use the export's separator: , ; a tab or |"
        problems.append((key(entity, "delimiter"), f"{mapped.delimiter!r} cannot separate", fix))
    held: dict[str, str] = {}
    for header, target in mapped.columns.items():
        column = column_of(entity, target)
        where = key(entity, "columns", header)
        if column is None:
            problems.append(
                (
                    where,
                    f"{target!r} is not a column of {entity.file_name}",
                    f"map it to one of {names}",
                )
            )
        elif column.name in held:
            problems.append(
                (
                    where,
                    f"{held[column.name]!r} is mapped to {target!r} too",
                    "map one header of the export to each column",
                )
            )
        else:
            held[column.name] = header
    for name, codes in mapped.values.items():
        column = column_of(entity, name)
        if column is None:
            problems.append(
                (
                    key(entity, "values", name),
                    f"not a column of {entity.file_name}",
                    f"name one of {names}",
                )
            )
            continue
        for value, code in codes.items():
            problem = _code_problem(mapping, column, code)
            if problem:
                problems.append(
                    (
                        key(entity, "values", name, value),
                        problem,
                        "map it to a value the column documents or add it to the vocabulary",
                    )
                )
    for name, form in mapped.formats.items():
        column, where = column_of(entity, name), key(entity, "formats", name)
        if column is None or column.rule not in FORMATTED_RULES:
            fix = "name a date or time column of " + entity.file_name
            problems.append((where, "not a date or time column", fix))
        elif problem := _format_problem(form):
            problems.append(
                (where, f"{form!r} {problem}", "write it with strftime codes, e.g. %Y/%m/%d %H:%M")
            )
    return problems


def _code_problem(mapping: Mapping, column: Column, code: str) -> str | None:
    """Why ``column`` would refuse a value mapped to ``code``, or None."""
    if not code:
        return f"maps to nothing, but {column.name} is required" if column.required else None
    if column.vocabulary:
        codes = mapping.vocabulary(column.vocabulary)
        if code in codes:
            return None
        listed = "|".join(codes)
        return f"maps to {code!r}, which is not in the {column.vocabulary} vocabulary ({listed})"
    try:
        column.rule.parse(code)
    except RowError as error:
        return f"maps to a value {column.name} refuses: {error}"
    return None


def _vocabulary_problems(file: MappingFile) -> list[tuple[str, str, str]]:
    fix = "write codes in lower case letters, digits and _, e.g. competition"
    return [
        (f"vocabulary.{kind}", f"{code!r} is not a code", fix)
        for kind, codes in file.vocabulary.items()
        for code in codes
        if not CODE.fullmatch(code)
    ]


def _schema_problem(error: dict) -> tuple[str, str, str]:
    """(key, problem, fix) of one pydantic error of the mapping file."""
    location = [str(part) for part in error["loc"] if part != "[key]"]
    if error["type"] == "extra_forbidden":
        allowed = EntityMapping if len(location) == 3 else MappingFile
        fix = f"remove it or correct its name (one of {', '.join(allowed.model_fields)})"
        return ".".join(location), "is not a key of the mapping file", fix
    fix = "see docs/sources.md for the mapping file's keys and values"
    return ".".join(location) or "(top level)", error["msg"], fix


def parse(text: str, path: Path) -> Mapping:
    """The mapping in ``text`` (the content of ``path``), checked.

    Raises
    ------
    ConfigError
        One message naming the file and each unusable key with its fix.
    """
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        problems = [
            (
                "(file)",
                f"is not YAML{at} ({getattr(error, 'problem', error)})",
                "fix the file's syntax",
            )
        ]
    else:
        problems = []
        try:
            mapping = Mapping(MappingFile.model_validate(document or {}), path)
        except ValidationError as error:
            problems = [_schema_problem(e) for e in error.errors()]
        else:
            problems = _vocabulary_problems(mapping.file) + [
                problem
                for entities in BY_SOURCE.values()
                for entity in entities
                for problem in _entity_problems(mapping, entity)
            ]
    if problems:
        listed = "; ".join(f"{key}: {problem} — {fix}" for key, problem, fix in problems)
        raise ConfigError(
            f"export mapping {path} ({SETTING}) cannot be used, nothing was loaded: {listed}; "
            "fix the file and run the day again"
        )
    return mapping


def configured(path: Path | None = None) -> Mapping:
    """The library's mapping: the file ``path``, else ``LIBCRM_EXPORT_MAPPING``'s; with
    neither, every export is read as documented.

    Raises
    ------
    ConfigError
        The file cannot be read, or is not a usable mapping (see ``parse``).
    """
    path = path or load().export_mapping
    if path is None:
        return Mapping()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        raise ConfigError(
            f"export mapping {path} ({SETTING}) cannot be read ({reason or error}): point "
            f"{SETTING} at the library's mapping file (UTF-8 YAML), or unset it"
        ) from None
    return parse(text, path)

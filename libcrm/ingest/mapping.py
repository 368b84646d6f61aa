"""A library's own exports mapped to the documented formats (``LIBCRM_EXPORT_MAPPING``).

Per source file a mapping gives the name pattern, the ``Dialect`` the file is read with
(encoding, delimiter, header names) and the entity whose rules first translate the library's
values and dates, then apply the documented checks: the loaders stay the only judge of a row.
``mapping_file`` reads and checks the file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from libcrm.ingest.fields import Column, Entity, RowError, Rule, day, in_vocabulary, timestamp
from libcrm.ingest.layout import Dialect
from libcrm.ingest.sources import VOCABULARIES

SETTING = "LIBCRM_EXPORT_MAPPING"
FORMATTED_RULES = {timestamp: "timestamp", day: "day"}


def _texts(value: object) -> object:
    """YAML reads ``1: undergraduate`` with an integer key; value maps compare text."""
    if isinstance(value, dict):
        return {
            str(key).strip(): "" if code is None else str(code).strip()
            for key, code in value.items()
        }
    return value


class EntityMapping(BaseModel):
    """How a library writes one export, as the mapping file says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str | None = Field(default=None, min_length=1)
    encoding: str | None = None
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    columns: dict[str, str] = {}
    values: dict[str, Annotated[dict[str, str], BeforeValidator(_texts)]] = {}
    formats: dict[str, str] = {}


IlsExport = Literal["patrons", "items", "loans", "holds", "purchase_requests"]
Kind = Literal["patron_category", "material_type", "event_category"]


class MappingFile(BaseModel):
    """The whole mapping file: per source and export, and the vocabulary additions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ils: dict[IlsExport, EntityMapping] = {}
    gate: dict[Literal["gate_log"], EntityMapping] = {}
    events: dict[Literal["events", "registrations"], EntityMapping] = {}
    vocabulary: dict[Kind, list[str]] = {}


def stem(entity: Entity) -> str:
    return Path(entity.file_name).stem


def column_of(entity: Entity, name: str) -> Column | None:
    """The entity's column a mapping names, by its export name or its raw-table name."""
    return next((c for c in entity.columns if name in (c.name, c.column)), None)


def _named(by_column: dict, entity: Entity, column: Column):
    """The entry of ``by_column`` that names ``column`` (either of its names), or None."""
    return by_column.get(column.name, by_column.get(column.column))


def _formatted(rule: Rule, form: str, key: str) -> Rule:
    """``rule`` reading dates or times written as ``form`` (``%Y/%m/%d %H:%M``) as well as
    documented ones."""
    kind = FORMATTED_RULES[rule]

    def parse(value: str) -> str:
        try:
            moment = datetime.strptime(value, form)
        except ValueError:
            try:
                return rule.parse(value)
            except RowError:
                raise RowError(f"'{value}' is not a {kind} written {form} ({key})") from None
        text = moment.isoformat(sep=" ", timespec="seconds")
        return text if rule is timestamp else text[:10]

    return Rule(parse, repeats=True)


def _translated(rule: Rule, codes: dict[str, str]) -> Rule:
    """``rule`` after the library's values are replaced by documented ones (others pass)."""

    def parse(value: str) -> str:
        return rule.parse(codes.get(value, value))

    return Rule(parse, repeats=True)


@dataclass(frozen=True)
class Mapping:
    """A checked mapping file (empty when none is configured: every export as documented)."""

    file: MappingFile = MappingFile()
    path: Path | None = None

    def of(self, entity: Entity) -> EntityMapping:
        """The mapping file's entry for ``entity`` (empty when it has none)."""
        return getattr(self.file, entity.source).get(stem(entity)) or EntityMapping()

    def key(self, entity: Entity, *rest: str) -> str:
        """The mapping key of an entity's entry: ``events.events.values.category``."""
        return ".".join((entity.source, stem(entity), *rest))

    @property
    def where(self) -> str:
        """The mapping file, or how to make one, for messages."""
        if self.path is None:
            return f"a mapping file named by {SETTING} (see docs/sources.md)"
        return str(self.path)

    def pattern(self, entity: Entity) -> str:
        """The name pattern of the entity's file in a day's folder (``fnmatch``)."""
        return self.of(entity).file or entity.file_name

    def vocabulary(self, kind: str) -> tuple[str, ...]:
        """The documented codes of ``kind`` and the library's additions, in that order."""
        return tuple(dict.fromkeys((*VOCABULARIES[kind], *self.file.vocabulary.get(kind, ()))))

    def additions(self) -> dict[str, list[str]]:
        """The codes the library adds to each open vocabulary (for dbt's tests)."""
        return {kind: list(codes) for kind, codes in self.file.vocabulary.items() if codes}

    def dialect(self, entity: Entity) -> Dialect:
        """How the entity's file is written: its encoding, delimiter and header names."""
        mapped = self.of(entity)
        header = {name: column_of(entity, target).name for name, target in mapped.columns.items()}
        entered = self.path and stem(entity) in getattr(self.file, entity.source)
        by = f"{self.key(entity)} in {self.path}" if entered else ""
        return Dialect(mapped.encoding, mapped.delimiter, header, by)

    def entity(self, entity: Entity) -> Entity:
        """The entity whose rules read the library's values, then apply the documented ones."""
        return replace(entity, columns=tuple(self._mapped(entity, c) for c in entity.columns))

    def _mapped(self, entity: Entity, column: Column) -> Column:
        mapped, rule = self.of(entity), column.rule
        if column.vocabulary:
            fix = (
                f"map it under {self.key(entity, 'values', column.column)} or add it to "
                f"vocabulary.{column.vocabulary} in {self.where}"
            )
            rule = in_vocabulary(column.vocabulary, self.vocabulary(column.vocabulary), fix)
        if form := _named(mapped.formats, entity, column):
            rule = _formatted(rule, form, self.key(entity, "formats", column.column))
        if codes := _named(mapped.values, entity, column):
            rule = _translated(rule, codes)
        return replace(column, rule=rule)

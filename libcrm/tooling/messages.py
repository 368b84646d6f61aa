"""The workspace's messages: find each one in the code and templates, and those not yet in
Chinese. ``python -m libcrm.tooling.messages`` lists the missing; ``--add AREA`` appends them
to ``locale/zh/AREA.po`` with an empty translation, for a translator to fill in."""

from __future__ import annotations

import argparse
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from libcrm.workspace import i18n
from recsys import reasons

WORKSPACE = Path(i18n.__file__).parent
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "NP_": (1, 2)}
# The recommender's reasons are worded in the reader's language by the portal API and the
# workspace, from the same catalogs.
REASONS = Path(reasons.__file__)


def extracted() -> dict[str, str]:
    """Every message of the workspace and the recommender's reasons, with the first place it
    is used (file:line)."""
    found: dict[str, str] = {}
    sources = [
        (WORKSPACE, METHODS, ""),
        (REASONS.parent, [(REASONS.name, "python")], f"../../{REASONS.parent.name}/"),
    ]
    for folder, methods, prefix in sources:
        for filename, line, message, _comments, _context in extract_from_dir(
            folder, methods, OPTIONS, keywords=KEYWORDS
        ):
            for text in message if isinstance(message, tuple) else (message,):
                if text:
                    found.setdefault(text, f"{prefix}{filename}:{line}")
    return found


def _catalog_messages(language: str):
    for path in sorted((i18n.LOCALE_DIR / language).glob("*.po")):
        with path.open("rb") as po:
            yield from (message for message in read_po(po, locale=language) if message.id)


def translated(language: str = "zh") -> dict[str, str]:
    """Every message with a non-empty translation in the catalogs of a language (both forms
    of a message with a plural, each to the translation of its first form)."""
    done: dict[str, str] = {}
    for message in _catalog_messages(language):
        text = message.string if isinstance(message.string, str) else message.string[0]
        if text:
            for form in (message.id,) if isinstance(message.id, str) else message.id:
                done[form] = text
    return done


def singular_forms(language: str = "zh") -> set[str]:
    """The first form of every message with a plural: its translation may add ``num``."""
    return {m.id[0] for m in _catalog_messages(language) if not isinstance(m.id, str)}


def missing(language: str = "zh") -> dict[str, str]:
    """Messages used but not translated, with where each is used."""
    done = translated(language)
    return {text: where for text, where in extracted().items() if text not in done}


def add(area: str, language: str = "zh") -> int:
    """Append the missing messages to ``locale/<language>/<area>.po``; return how many."""
    path = i18n.LOCALE_DIR / language / f"{area}.po"
    catalog = Catalog(locale=language)
    if path.exists():
        with path.open("rb") as po:
            catalog = read_po(po, locale=language)
    todo = missing(language)
    for text, where in todo.items():
        filename, _, line = where.rpartition(":")
        catalog.add(text, "", locations=[(filename, int(line))])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as po:
        write_po(po, catalog, width=100, omit_header=False)
    return len(todo)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m libcrm.tooling.messages", description=__doc__)
    parser.add_argument("--add", metavar="AREA", help="append the missing to locale/zh/AREA.po")
    args = parser.parse_args()
    if args.add:
        print(f"added {add(args.add)} messages to locale/zh/{args.add}.po")
        return 0
    for text, where in missing().items():
        print(f"{where}: {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

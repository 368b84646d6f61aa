"""Simplified Chinese and English: gettext catalogs compiled by Babel, and the language choice.

Messages are written in English in the templates and the code; the catalogs ``locale/zh/*.po``
hold their Chinese, one file per area of the workspace (merged when loaded) so that areas are
translated independently. tests/test_workspace_i18n.py extracts every message with Babel and
fails when one has no translation.
"""

from __future__ import annotations

import contextvars
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGE_COOKIE = "libcrm_lang"

_current: contextvars.ContextVar[NullTranslations] = contextvars.ContextVar("translations")


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of a language (English is the messages themselves)."""
    if language == "en":
        return NullTranslations()
    merged = None
    for path in sorted((LOCALE_DIR / language).glob("*.po")):
        with path.open("rb") as po:
            catalog = read_po(po, locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        loaded = Translations(fp=compiled)
        # The first file's plural rule (Chinese has one form) serves the merged catalog.
        merged = loaded if merged is None else merged.merge(loaded)
    return merged or NullTranslations()


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The language of a request: the cookie set by the switch, else the browser's choice.

    Parsing ``Accept-Language`` by hand: neither Starlette nor Babel reads the header, and two
    languages need only its order of preference.
    """
    if cookie in LANGUAGES:
        return cookie
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


class use:
    """Make a language current for gettext calls in this context: ``with use("zh"): ...``."""

    def __init__(self, language: str):
        self.language = language

    def __enter__(self):
        self._token = _current.set(translations(self.language))
        return self

    def __exit__(self, *exc):
        _current.reset(self._token)


def gettext(message: str, **values) -> str:
    """Translate into the current language; ``%(name)s`` placeholders take ``values``."""
    text = _current.get(translations("en")).gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values) -> str:
    """The singular or plural of a message in the current language, with ``num`` = n."""
    text = _current.get(translations("en")).ngettext(singular, plural, n)
    return text % {"num": n, **values}


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark a message for extraction; it is translated where it is shown."""
    return message

"""The recommender's reasons worded in a reader's or librarian's language: the sentences of
recsys.reasons through the workspace's catalogs, category codes named by its vocabulary."""

from __future__ import annotations

from functools import cache

from libcrm.workspace import i18n, vocabulary
from recsys.reasons import Params, Translator, render


class _Catalog(Translator):
    def __init__(self, language: str) -> None:
        self.language = language
        self.translations = i18n.translations(language)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def name(self, kind: str, code: str) -> str:
        with i18n.use(self.language):
            return vocabulary.label(kind, code)


@cache
def _translator(language: str) -> _Catalog:
    return _Catalog(language)


def worded(code: str | None, params: Params | None, language: str) -> str | None:
    """The reason ``code`` with ``params`` in ``language`` (``zh`` or ``en``); None without a
    code (rows published before reasons had codes)."""
    if code is None:
        return None
    return render(code, params or {}, _translator(language))

"""Why each recommendation was made, as a code with parameters, and its sentence.

Every reason the recommender publishes is a code of :data:`SENTENCES` with parameters (a
title, a department, an event category, a count). Each sentence is stated once, here, in
English; its Chinese is in the workspace's catalogs (``libcrm/workspace/locale/zh/reasons.po``).
The nightly run stores the code, the parameters and the English sentence
(:func:`english`); the portal API and the workspace render the code in the reader's language
with :func:`render`, naming category codes with the workspace vocabulary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property

Params = dict[str, object]


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark a sentence for extraction (python -m libcrm.tooling.messages)."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 - as N_, with a plural
    """Mark a sentence with a plural for extraction."""
    return singular, plural


@dataclass(frozen=True)
class Sentence:
    """A reason's sentence: ``%(name)s`` placeholders take its parameters.

    ``count`` names the parameter that chooses the plural form (it is then ``%(num)s`` in the
    sentence); ``named`` maps parameters holding a vocabulary code to the vocabulary's kind.
    """

    message: str | tuple[str, str]
    count: str | None = None
    named: dict[str, str] = field(default_factory=dict)


SENTENCES = {
    "borrowed_similar": Sentence(N_("because you borrowed 《%(title)s》")),
    "popular": Sentence(N_("among the books most borrowed lately")),
    "popular_in_department": Sentence(N_("popular in your department (%(department)s) lately")),
    "popular_in_subjects": Sentence(N_("among the books most borrowed in the subjects you read")),
    "shares_subject": Sentence(N_("on a subject you read: 《%(title)s》")),
    "attended_category": Sentence(
        NP_(
            "you attended an event of this kind (%(category)s)",
            "you attended %(num)s events of this kind (%(category)s)",
        ),
        count="count",
        named={"category": "event_category"},
    ),
    "department_signed_up": Sentence(
        NP_(
            "a reader from your department (%(department)s) signed up",
            "%(num)s readers from your department (%(department)s) signed up",
        ),
        count="count",
    ),
    "seats_left": Sentence(
        N_("an event with seats left (%(category)s)"), named={"category": "event_category"}
    ),
}
# The parameters each code carries (the portal API documents them).
PARAMETERS = {
    "borrowed_similar": ("title",),
    "popular": (),
    "popular_in_department": ("department",),
    "popular_in_subjects": (),
    "shares_subject": ("title", "word"),
    "attended_category": ("category", "count"),
    "department_signed_up": ("department", "count"),
    "seats_left": ("category",),
}


@dataclass(frozen=True)
class Reason:
    """One recommendation's reason: a code of :data:`SENTENCES` and its parameters."""

    code: str
    params: Params = field(default_factory=dict)

    # Worded and serialised once per reason: a night's rows share a few thousand of them
    # (one per book or department), and doing it per row cost seconds at a large library.
    @cached_property
    def english(self) -> str:
        return english(self.code, self.params)

    @cached_property
    def params_json(self) -> str:
        """The parameters as the JSON text the ``reason_params`` columns store."""
        return json.dumps(self.params, ensure_ascii=False, sort_keys=True)


class Translator:
    """How :func:`render` words a sentence: English unless the caller brings a catalog."""

    def gettext(self, message: str) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural

    def name(self, kind: str, code: str) -> str:
        """A vocabulary code's English name, as the workspace vocabulary words it
        ("reading_club" -> "Reading club"; tests/test_api_reasons.py checks they agree)."""
        return code.replace("_", " ").capitalize()


ENGLISH = Translator()


def render(code: str, params: Params, translator: Translator = ENGLISH) -> str:
    """The sentence of ``code`` with ``params``, worded by ``translator``.

    Raises
    ------
    KeyError
        ``code`` is not one of :data:`SENTENCES`, or a parameter it needs is missing.
    ValueError
        The parameter that chooses the plural form is not a number.
    """
    sentence = SENTENCES[code]
    values = {
        name: translator.name(sentence.named[name], str(value)) if name in sentence.named else value
        for name, value in params.items()
    }
    if sentence.count is None:
        text = translator.gettext(sentence.message)
    else:
        singular, plural = sentence.message
        values["num"] = int(params[sentence.count])
        text = translator.ngettext(singular, plural, values["num"])
    return text % values


def english(code: str, params: Params) -> str:
    """The English sentence stored beside the code (``portal.*.reason``)."""
    return render(code, params, ENGLISH)

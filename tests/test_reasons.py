"""Every reason is a code with parameters, worded once in English and in Chinese from the
catalogs, with category codes named as the workspace vocabulary names them."""

from __future__ import annotations

import re

import pytest

from libcrm.workspace import i18n, vocabulary
from libcrm.workspace.reasons import worded
from recsys.reasons import ENGLISH, PARAMETERS, SENTENCES, english

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
EXAMPLES = {
    "borrowed_similar": {"title": "平凡的世界"},
    "popular": {},
    "popular_in_department": {"department": "Physics"},
    "popular_in_subjects": {},
    "shares_subject": {"title": "Quantum Optics", "word": "optics"},
    "attended_category": {"category": "reading_club", "count": 3},
    "department_signed_up": {"department": "Physics", "count": 1},
    "seats_left": {"category": "workshop"},
}


def test_every_code_documents_the_parameters_its_sentence_uses():
    assert set(PARAMETERS) == set(SENTENCES) == set(EXAMPLES)
    for code, sentence in SENTENCES.items():
        forms = (sentence.message,) if isinstance(sentence.message, str) else sentence.message
        used = {name for form in forms for name in PLACEHOLDER.findall(form)} - {"num"}
        assert used <= set(PARAMETERS[code]), code
        assert set(EXAMPLES[code]) == set(PARAMETERS[code]), code


@pytest.mark.parametrize("code", sorted(SENTENCES))
def test_every_code_is_worded_in_both_languages(code):
    chinese = worded(code, EXAMPLES[code], "zh")
    assert worded(code, EXAMPLES[code], "en") == english(code, EXAMPLES[code])
    assert chinese != english(code, EXAMPLES[code])
    assert re.search(r"[\u4e00-\u9fff]", chinese), chinese
    assert "%(" not in chinese


def test_counts_choose_the_plural_and_categories_take_the_vocabulary_names():
    club = {"category": "reading_club"}
    assert english("attended_category", club | {"count": 1}) == (
        "you attended an event of this kind (Reading club)"
    )
    assert english("attended_category", club | {"count": 4}) == (
        "you attended 4 events of this kind (Reading club)"
    )
    assert worded("attended_category", club | {"count": 4}, "zh") == (
        "你参加过 4 次此类活动（读书会）"
    )
    assert worded("department_signed_up", {"department": "物理系", "count": 1}, "zh") == (
        "你所在院系（物理系）已有 1 位读者报名"
    )
    assert (
        worded("borrowed_similar", EXAMPLES["borrowed_similar"], "zh") == "因为你借过《平凡的世界》"
    )


def test_the_stored_english_names_categories_as_the_vocabulary_does():
    """The published English sentence is worded without the workspace: its names must agree."""
    with i18n.use("en"):
        for code in vocabulary.NAMES["event_category"]:
            assert ENGLISH.name("event_category", code) == vocabulary.label("event_category", code)

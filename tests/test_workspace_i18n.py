"""The workspace speaks Simplified Chinese and English: every message and every vocabulary code
has its Chinese, placeholders survive translation, and the browser's language is honoured."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from libcrm.tooling import messages
from libcrm.workspace import i18n, vocabulary

SEED = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "crm_vocabulary.csv"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def test_every_message_of_the_workspace_has_a_chinese_translation():
    assert messages.extracted(), "the extraction found no message at all"
    untranslated = messages.missing("zh")
    assert not untranslated, "untranslated (python -m libcrm.tooling.messages --add AREA): " + (
        "; ".join(f"{where}: {text}" for text, where in untranslated.items())
    )


def test_translations_keep_every_placeholder_of_their_message():
    singular = messages.singular_forms("zh")
    for message, translation in messages.translated("zh").items():
        # One Chinese form serves every count: it names the count the English singular omits.
        extra = {"num"} if message in singular else set()
        expected = set(PLACEHOLDER.findall(message)) | extra
        assert expected == set(PLACEHOLDER.findall(translation)), message


def test_every_code_of_the_vocabulary_seed_has_a_name_librarians_read():
    with SEED.open() as seed:
        codes = {(row["kind"], row["code"]) for row in csv.DictReader(seed)}
    unnamed = {code for code in codes if code[1] not in vocabulary.NAMES.get(code[0], {})}
    assert not unnamed
    with i18n.use("zh"):
        assert vocabulary.label("value_segment", "growth") == "成长读者"
        assert vocabulary.label("lifecycle_stage", "no_such_stage") == "no_such_stage"
    with i18n.use("en"):
        assert vocabulary.label("value_segment", "growth") == "Growth reader"


@pytest.mark.parametrize(
    ("cookie", "header", "chosen"),
    [
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        (None, "en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        (None, "en;q=0.5, zh-Hans;q=0.9", "zh"),
        (None, "fr-FR,fr;q=0.9", "zh"),
        (None, None, "zh"),
        ("en", "zh-CN", "en"),
        ("xx", "en-GB", "en"),
    ],
)
def test_the_language_comes_from_the_switch_else_from_the_browser(cookie, header, chosen):
    assert i18n.choose(cookie, header) == chosen

"""Rows judged in bulk and rows judged one by one get their ``user_key`` by one path."""

from __future__ import annotations

from datetime import date

import pytest

from libcrm.ingest.fields import RowError
from libcrm.ingest.keys import Keys
from libcrm.ingest.sources import GATE_PASSAGES, LOANS
from libcrm.pseudonym import user_key

SECRET = b"k" * 32
DAY = date(2026, 3, 16)


def test_each_patron_id_becomes_its_keyed_pseudonym_in_a_row_or_a_column():
    keys = Keys(LOANS, SECRET, frozenset(), DAY)
    patrons = ["P2", "P1", "P2"]
    assert keys.of(patrons) == [user_key(SECRET, patron) for patron in patrons]
    assert keys.of(["P1"]) == [user_key(SECRET, "P1")]


def test_a_card_no_patron_held_is_refused_with_its_reason_in_a_row_or_a_column():
    keys = Keys(GATE_PASSAGES, SECRET, frozenset({"C1", "C2"}), DAY)
    assert keys.of(["C2", "C1"]) is None
    for cards in (["C9"], ["C1", "C9", "C2"]):
        with pytest.raises(
            RowError, match=f"card_number 'C9' is not a card any patron held on {DAY}"
        ):
            keys.of(cards)

"""Key rotation re-keys every table consistently, or refuses and changes nothing."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from libcrm import ingest
from libcrm.cli import main
from libcrm.pseudonym import user_key
from tests.conftest import LANDING, TEST_KEY

NEW_KEY = b"a-brand-new-pseudonym-key-0123456789"


@pytest.fixture
def loaded(warehouse_url, tmp_path, monkeypatch):
    for source in ("ils", "gate", "events"):
        ingest.ingest_source(source, date(2026, 3, 16), warehouse_url, LANDING)
    (tmp_path / "old.key").write_text(TEST_KEY)
    (tmp_path / "new.key").write_bytes(NEW_KEY)
    monkeypatch.setenv("LIBCRM_DATABASE_URL", warehouse_url)
    return warehouse_url, tmp_path


def _keys(url):
    user_keys = {
        table: f"select distinct user_key from raw.{table}"  # noqa: S608
        for table in ("patrons", "loans")
    }  # fmt: skip
    for table, card in (("gate_passages", "card_number"), ("event_registrations", "barcode")):
        holder = ingest.card_holder_join("keyed", card)
        user_keys[table] = f"select distinct cards.user_key from raw.{table} as keyed {holder}"  # noqa: S608
    with psycopg.connect(url) as conn:
        return {table: {r[0] for r in conn.execute(query)} for table, query in user_keys.items()}


def test_rotation_rekeys_every_table_to_the_new_secret(loaded):
    url, keys = loaded
    code = main(
        [
            "rotate-key",
            "--old-key-file",
            str(keys / "old.key"),
            "--new-key-file",
            str(keys / "new.key"),
        ]
    )
    assert code == 0
    after = _keys(url)
    expected = {user_key(NEW_KEY, p) for p in ("P001", "P002", "P003", "P004")}
    assert after["patrons"] == expected
    assert after["gate_passages"] == {user_key(NEW_KEY, "P001"), user_key(NEW_KEY, "P002")}
    assert after["loans"] <= expected
    with psycopg.connect(url) as conn:
        stored = dict(conn.execute("select patron_id, user_key from identity.patron_keys"))
    assert stored["P001"] == user_key(NEW_KEY, "P001")


def test_a_wrong_old_key_is_refused_and_nothing_changes(loaded):
    url, keys = loaded
    before = _keys(url)
    (keys / "wrong.key").write_text("not-the-key-the-warehouse-was-built-with")
    code = main(
        [
            "rotate-key",
            "--old-key-file",
            str(keys / "wrong.key"),
            "--new-key-file",
            str(keys / "new.key"),
        ]
    )
    assert code == 2
    assert _keys(url) == before

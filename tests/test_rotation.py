"""Key rotation re-keys every table consistently, or refuses and changes nothing."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from libcrm import identity, ingest
from libcrm.cli import main
from libcrm.config import ConfigError
from libcrm.pseudonym import fingerprint, user_key
from tests.conftest import LANDING, TEST_KEY

NEW_KEY = b"a-brand-new-pseudonym-key-0123456789"
DAY = date(2026, 3, 16)


@pytest.fixture
def loaded(fresh_warehouse_url, tmp_path, monkeypatch):
    for source in ("ils", "gate", "events"):
        ingest.ingest_source(source, DAY, fresh_warehouse_url, LANDING)
    for name, key in (("old.key", TEST_KEY.encode()), ("new.key", NEW_KEY)):
        (tmp_path / name).write_bytes(key)
        (tmp_path / name).chmod(0o600)
    monkeypatch.setenv("LIBCRM_DATABASE_URL", fresh_warehouse_url)
    return fresh_warehouse_url, tmp_path


def _rotate(keys, old="old.key", new="new.key"):
    return main(
        ["rotate-key", "--old-key-file", str(keys / old), "--new-key-file", str(keys / new)]
    )


def _keys(url):
    user_keys = {
        table: f"select distinct user_key from raw.{table}"  # noqa: S608
        for table in ("patrons", "loans")
    }
    for table, card in (("gate_passages", "card_number"), ("event_registrations", "barcode")):
        holder = identity.card_holder_join("keyed", card)
        user_keys[table] = f"select distinct cards.user_key from raw.{table} as keyed {holder}"  # noqa: S608
    with psycopg.connect(url) as conn:
        return {table: {r[0] for r in conn.execute(query)} for table, query in user_keys.items()}


def test_rotation_rekeys_every_table_to_the_new_secret(loaded):
    url, keys = loaded
    assert _rotate(keys) == 0
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
    assert _rotate(keys, old="wrong.key") == 2
    assert _keys(url) == before


def test_after_rotation_only_the_new_key_may_write(loaded, monkeypatch):
    url, keys = loaded
    assert _rotate(keys) == 0
    with pytest.raises(ConfigError, match="not the key this warehouse's user keys were made with"):
        ingest.ingest_source("ils", DAY, url, LANDING)
    monkeypatch.setenv("LIBCRM_PSEUDONYM_KEY", NEW_KEY.decode())
    assert all(result.skipped for result in ingest.ingest_source("ils", DAY, url, LANDING))
    with psycopg.connect(url) as conn:
        [(recorded,)] = conn.execute("select fingerprint from identity.key_fingerprint")
    assert recorded == fingerprint(NEW_KEY)


def test_a_wrong_old_key_is_named_in_the_refusal(loaded, capsys):
    _, keys = loaded
    (keys / "wrong.key").write_text("not-the-key-the-warehouse-was-built-with")
    assert _rotate(keys, old="wrong.key") == 2
    said = capsys.readouterr().err
    assert "key rotation refused, nothing changed" in said
    assert f"--old-key-file {keys / 'wrong.key'} is not the key" in said


def test_a_short_new_key_is_refused_before_anything_changes(loaded, capsys):
    url, keys = loaded
    before = _keys(url)
    (keys / "short.key").write_text("abc")
    assert _rotate(keys, new="short.key") == 2
    assert "shorter than 32" in capsys.readouterr().err
    assert _keys(url) == before


def test_rows_of_a_patron_the_patrons_export_never_named_follow_the_new_key(loaded):
    url, keys = loaded
    stray = user_key(TEST_KEY.encode(), "P999")
    with psycopg.connect(url) as conn:
        loan = conn.execute("select loan_id from raw.loans limit 1").fetchone()[0]
        conn.execute(
            "update raw.loans set patron_id = 'P999', user_key = %s where loan_id = %s",
            [stray, loan],
        )
    assert _rotate(keys) == 0
    with psycopg.connect(url) as conn:
        (rekeyed,) = conn.execute(
            "select user_key from raw.loans where loan_id = %s", [loan]
        ).fetchone()
    assert rekeyed == user_key(NEW_KEY, "P999")


def test_audience_history_and_frozen_campaign_members_follow_the_new_key(loaded):
    url, keys = loaded
    with psycopg.connect(url) as conn:
        patron_id, old = conn.execute(
            "select patron_id, user_key from raw.patrons order by patron_id limit 1"
        ).fetchone()
        audience = conn.execute(
            "insert into workspace.audiences (name, definition, created_by) "
            "values ('a', '{}', 't') returning audience_id"
        ).fetchone()[0]
        conn.execute(
            "insert into workspace.audience_members values (%s, %s, %s)", [audience, DAY, old]
        )
        campaign = conn.execute(
            "insert into workspace.campaigns (name, audience_id, goal, window_start, window_end, "
            "seed, created_by) values ('c', %s, '{}', %s, %s, 1, 't') returning campaign_id",
            [audience, DAY, DAY],
        ).fetchone()[0]
        conn.execute(
            "insert into workspace.campaign_members values (%s, %s, false)", [campaign, old]
        )
    assert _rotate(keys) == 0
    with psycopg.connect(url) as conn:
        stored = [
            conn.execute(f"select user_key from workspace.{table}").fetchone()[0]  # noqa: S608
            for table in ("audience_members", "campaign_members")
        ]
    assert stored == [user_key(NEW_KEY, patron_id)] * 2

"""The pseudonym key: only the warehouse's key writes user keys, both sources obey one set of
rules, and key files stay private."""

from __future__ import annotations

import logging
import shutil
import stat
from datetime import date

import psycopg
import pytest

from libcrm import config, ingest
from libcrm.cli import main
from libcrm.privacy.access import export_patron
from libcrm.privacy.rotation import rotate
from libcrm.pseudonym import fingerprint
from tests.conftest import LANDING, TEST_KEY

OTHER_KEY = "another-pseudonym-key-abcdefghijklmnop"
FIRST, SECOND = date(2026, 3, 16), date(2026, 3, 17)
WRONG_KEY = "not the key this warehouse's user keys were made with"
# What a wrong key would have changed: every row keyed by patron, the identity map, the audit.
STATE = {
    "patron_keys": "select user_key, patron_id, barcode from identity.patron_keys",
    "cards": "select barcode, user_key, from_batch, to_batch from identity.cards",
    "patrons": "select batch_id, user_key, patron_id from raw.patrons",
    "loans": "select batch_id, user_key, patron_id from raw.loans",
    "audit": "select batch_id, file, status from raw.load_audit",
    "fingerprint": "select fingerprint from identity.key_fingerprint",
}


def _state(url: str) -> dict[str, set]:
    with psycopg.connect(url) as conn:
        return {name: set(conn.execute(query).fetchall()) for name, query in STATE.items()}


@pytest.fixture
def first_day(fresh_warehouse_url, tmp_path):
    """Day one loaded with the test key; day two re-delivers the same ILS export, and the gate
    and event exports of day one are not loaded yet."""
    landing = tmp_path / "landing"
    shutil.copytree(LANDING, landing)
    shutil.copytree(landing / "ils" / FIRST.isoformat(), landing / "ils" / SECOND.isoformat())
    ingest.ingest_source("ils", FIRST, fresh_warehouse_url, landing)
    return fresh_warehouse_url, landing


def test_a_wrong_key_never_rekeys_patrons_from_a_redelivered_export(first_day, monkeypatch):
    url, landing = first_day
    before = _state(url)
    monkeypatch.setenv("LIBCRM_PSEUDONYM_KEY", OTHER_KEY)
    with pytest.raises(config.ConfigError, match=WRONG_KEY) as refused:
        ingest.ingest_source("ils", SECOND, url, landing)
    assert "rotate-key" in str(refused.value)
    assert _state(url) == before
    # The warehouse stays repairable: the right key loads the day, and rotation accepts it.
    monkeypatch.setenv("LIBCRM_PSEUDONYM_KEY", TEST_KEY)
    ingest.ingest_source("ils", SECOND, url, landing)
    after = _state(url)
    assert after["patron_keys"] == before["patron_keys"]
    assert {key for _, key, _ in after["patrons"]} == {key for _, key, _ in before["patrons"]}
    with psycopg.connect(url) as conn:
        assert rotate(conn, TEST_KEY.encode(), OTHER_KEY.encode())["identity.patron_keys"] == 4


@pytest.mark.parametrize("source", ["ils", "gate", "events"])
def test_every_source_refuses_a_wrong_key_before_loading(first_day, monkeypatch, source):
    url, landing = first_day
    before = _state(url)
    monkeypatch.setenv("LIBCRM_PSEUDONYM_KEY", OTHER_KEY)
    day = SECOND if source == "ils" else FIRST
    with pytest.raises(config.ConfigError, match=WRONG_KEY):
        ingest.ingest_source(source, day, url, landing)
    assert _state(url) == before


def test_the_first_key_used_is_recorded_as_the_warehouses(first_day):
    url, _ = first_day
    assert _state(url)["fingerprint"] == {(fingerprint(TEST_KEY.encode()),)}


def test_a_warehouse_without_a_fingerprint_checks_its_pseudonyms_then_records_the_key(
    first_day, monkeypatch
):
    url, landing = first_day
    with psycopg.connect(url) as conn:
        conn.execute("delete from identity.key_fingerprint")
    monkeypatch.setenv("LIBCRM_PSEUDONYM_KEY", OTHER_KEY)
    with pytest.raises(config.ConfigError, match=r"\(4 of 4 stored pseudonyms differ\)"):
        ingest.ingest_source("ils", SECOND, url, landing)
    assert _state(url)["fingerprint"] == set()
    monkeypatch.setenv("LIBCRM_PSEUDONYM_KEY", TEST_KEY)
    ingest.ingest_source("ils", SECOND, url, landing)
    assert _state(url)["fingerprint"] == {(fingerprint(TEST_KEY.encode()),)}


def test_a_warehouse_from_before_the_fingerprint_table_gets_it_at_first_use(first_day):
    url, _ = first_day
    with psycopg.connect(url) as conn:
        conn.execute("drop table identity.key_fingerprint")
    with psycopg.connect(url) as conn:
        assert export_patron(conn, "P001")["tables"]["identity.patron_keys"]
    assert _state(url)["fingerprint"] == {(fingerprint(TEST_KEY.encode()),)}


def test_the_access_export_refuses_a_wrong_key(first_day, monkeypatch):
    url, _ = first_day
    monkeypatch.setenv("LIBCRM_PSEUDONYM_KEY", OTHER_KEY)
    with psycopg.connect(url) as conn, pytest.raises(config.ConfigError, match=WRONG_KEY):
        export_patron(conn, "P001")


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "pseudonym.key"
    path.write_text(TEST_KEY + "\n")
    path.chmod(0o600)
    return path


def test_a_short_key_in_the_environment_is_refused(monkeypatch):
    monkeypatch.setenv("LIBCRM_PSEUDONYM_KEY", "abc")
    monkeypatch.delenv("LIBCRM_PSEUDONYM_KEY_FILE", raising=False)
    with pytest.raises(config.ConfigError, match="KEY is 3 bytes, shorter than 32"):
        config.pseudonym_key()


def test_a_short_key_file_is_refused_naming_the_file(monkeypatch, key_file):
    key_file.write_text("abc\n")
    monkeypatch.delenv("LIBCRM_PSEUDONYM_KEY")
    monkeypatch.setenv("LIBCRM_PSEUDONYM_KEY_FILE", str(key_file))
    with pytest.raises(config.ConfigError, match=f"{key_file} is 3 bytes, shorter than 32"):
        config.pseudonym_key()


def test_a_key_variable_and_a_key_file_that_differ_are_refused(monkeypatch, key_file):
    key_file.write_text(OTHER_KEY)
    monkeypatch.setenv("LIBCRM_PSEUDONYM_KEY_FILE", str(key_file))
    with pytest.raises(config.ConfigError, match="hold different keys: unset one of them"):
        config.pseudonym_key()


def test_a_key_variable_naming_a_missing_key_file_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("LIBCRM_PSEUDONYM_KEY_FILE", str(tmp_path / "absent.key"))
    with pytest.raises(config.ConfigError, match="no pseudonym key file at .*absent.key"):
        config.pseudonym_key()


def test_the_same_key_in_the_variable_and_the_file_is_accepted(monkeypatch, key_file):
    monkeypatch.setenv("LIBCRM_PSEUDONYM_KEY_FILE", str(key_file))
    assert config.pseudonym_key() == TEST_KEY.encode()


def test_keygen_on_an_existing_readable_key_keeps_it_and_tells_its_real_mode(tmp_path, capsys):
    path = tmp_path / "pseudonym.key"
    path.write_text(OTHER_KEY)
    path.chmod(0o644)
    assert main(["keygen", "--path", str(path)]) == 0
    said = capsys.readouterr().out
    assert "(mode 0600)" not in said
    assert f"kept the existing pseudonym key in {path} (mode 0644)" in said
    assert f"chmod 600 {path}" in said
    assert path.read_text() == OTHER_KEY
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_keygen_writes_a_new_key_readable_by_its_owner_only(tmp_path, capsys):
    path = tmp_path / "keys" / "pseudonym.key"
    assert main(["keygen", "--path", str(path)]) == 0
    said = capsys.readouterr().out
    assert f"wrote a new pseudonym key to {path} (mode 0600)" in said
    assert "chmod" not in said
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes().strip()) >= config.MIN_KEY_BYTES


def test_a_key_file_readable_by_others_is_used_with_a_warning_naming_it(
    monkeypatch, key_file, caplog
):
    key_file.chmod(0o644)
    monkeypatch.delenv("LIBCRM_PSEUDONYM_KEY")
    monkeypatch.setenv("LIBCRM_PSEUDONYM_KEY_FILE", str(key_file))
    with caplog.at_level(logging.WARNING, logger="libcrm.config"):
        assert config.pseudonym_key() == TEST_KEY.encode()
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert f"{key_file} has mode 0644" in warning.getMessage()
    assert f"chmod 600 {key_file}" in warning.getMessage()


def test_a_private_key_file_is_used_without_a_warning(monkeypatch, key_file, caplog):
    monkeypatch.delenv("LIBCRM_PSEUDONYM_KEY")
    monkeypatch.setenv("LIBCRM_PSEUDONYM_KEY_FILE", str(key_file))
    with caplog.at_level(logging.WARNING, logger="libcrm.config"):
        assert config.pseudonym_key() == TEST_KEY.encode()
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]

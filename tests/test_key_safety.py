"""The pseudonym key: both sources obey one set of rules, and key files stay private."""

from __future__ import annotations

import logging
import stat

import pytest

from libcrm import config
from libcrm.cli import main
from tests.conftest import TEST_KEY

OTHER_KEY = "another-pseudonym-key-abcdefghijklmnop"


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

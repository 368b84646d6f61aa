"""Portal API tokens from the command line and the demo: shown once, stored as hashes,
revocable, and the demo's kept in a file only its owner reads."""

from __future__ import annotations

import stat

import psycopg
import pytest

from libcrm import cli
from libcrm.api import tokens
from libcrm.tooling import demo_accounts


@pytest.fixture
def configured(warehouse_url, tmp_path, monkeypatch):
    monkeypatch.setenv("LIBCRM_DATABASE_URL", warehouse_url)
    monkeypatch.setenv("LIBCRM_STATE_DIR", str(tmp_path))
    return warehouse_url


def _client(url: str, token: str) -> str | None:
    with psycopg.connect(url) as conn:
        return tokens.client_of(conn, token)


def test_api_token_prints_a_token_once_and_revoke_refuses_it(configured, capsys):
    assert cli.main(["api-token", "--client", "opac"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert _client(configured, token) == "opac"
    assert cli.main(["api-token", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "opac\t" in listed and listed.rstrip().endswith("live")
    assert cli.main(["api-token", "--client", "opac", "--revoke"]) == 0
    assert _client(configured, token) is None
    assert cli.main(["api-token", "--client", "opac", "--revoke"]) == 2
    assert "no client 'opac' with a live token" in capsys.readouterr().err


def test_a_new_token_replaces_the_clients_old_one(configured, capsys):
    cli.main(["api-token", "--client", "kiosk"])
    first = capsys.readouterr().out.strip().splitlines()[-1]
    cli.main(["api-token", "--client", "kiosk"])
    second = capsys.readouterr().out.strip().splitlines()[-1]
    assert _client(configured, first) is None and _client(configured, second) == "kiosk"


def test_a_client_name_that_is_not_usable_is_refused_with_the_rule(configured, capsys):
    assert cli.main(["api-token", "--client", "Bad Name"]) == 2
    assert "lower-case letters" in capsys.readouterr().err


def test_the_demo_keeps_its_portal_token_in_a_0600_file(configured):
    path = demo_accounts.ensure_portal_token(configured)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = path.read_text().strip()
    assert _client(configured, token) == demo_accounts.PORTAL_CLIENT
    assert demo_accounts.ensure_portal_token(configured) == path
    assert path.read_text().strip() == token  # run again: the same token
    assert any("portal_token" in line for line in demo_accounts.lines(configured))

"""Portal API tokens from the command line and the demo: shown once, stored as hashes,
revocable, and the demo's kept in a file only its owner reads."""

from __future__ import annotations

import stat
import sys

import psycopg
import pytest
from psycopg import errors

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


def test_a_token_written_with_out_is_never_readable_by_others(configured, tmp_path):
    """The file is 0600 from its creation: when the command sets its mode, nothing but its
    owner could have read the token before (seen by an audit hook on that chmod)."""
    out = tmp_path / "opac_token"
    modes: list[int] = []

    def before_chmod(event, args):
        if event == "os.chmod" and str(args[0]) == str(out) and out.exists():
            modes.append(stat.S_IMODE(out.stat().st_mode))

    sys.addaudithook(before_chmod)
    assert cli.main(["api-token", "--client", "opac", "--out", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert _client(configured, out.read_text().strip()) == "opac"
    assert all(mode & 0o077 == 0 for mode in modes), [oct(mode) for mode in modes]


def test_the_portal_role_cannot_read_the_tokens_only_ask_whose_a_hash_is(configured):
    """The API's role finds the client of the token it was sent and nothing else: not the
    other clients, nor their hashes."""
    with psycopg.connect(configured) as conn:
        token = tokens.issue(conn, "opac")
        tokens.issue(conn, "kiosk")
        conn.execute("set role libcrm_portal")
        for query in ("select * from portal.api_tokens", "select client from portal.api_tokens"):
            with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
                conn.execute(query)
        assert tokens.client_of(conn, token) == "opac"
        assert tokens.client_of(conn, "lcrm_wrong") is None


def test_the_lookup_runs_with_its_owners_rights_on_a_pinned_search_path(configured):
    with psycopg.connect(configured) as conn:
        definer, settings, owner = conn.execute(
            "select prosecdef, proconfig, proowner::regrole::text from pg_proc"
            " where oid = 'portal.client_of(text)'::regprocedure"
        ).fetchone()
        granted = conn.execute(
            "select coalesce(array_agg(grantee::regrole::text order by 1), '{}')"
            " from pg_proc, aclexplode(proacl) where oid = 'portal.client_of(text)'::regprocedure"
            " and privilege_type = 'EXECUTE' and grantee <> proowner"
        ).fetchone()[0]
    assert definer and "search_path=pg_catalog, pg_temp" in settings
    assert owner == "libcrm_transformer"
    assert granted == ["libcrm_portal"]  # not public

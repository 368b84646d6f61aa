"""One warehouse URL, read by libpq, reaches the same server for the pipeline and for dbt."""

from __future__ import annotations

import psycopg
import pytest

from libcrm import config, transform


@pytest.fixture(scope="module")
def socket_url(warehouse_url):
    """The test database by Unix socket, as ``postgresql://user@/db?host=/socket/dir``."""
    with psycopg.connect(warehouse_url) as conn:
        directories = conn.execute("show unix_socket_directories").fetchone()[0]
        user, database = conn.info.user, conn.info.dbname
    directory = next((d.strip() for d in directories.split(",") if d.strip()), None)
    if directory is None or directory.startswith("@"):
        pytest.skip("the test server listens on no Unix socket directory")
    return f"postgresql://{user}@/{database}?host={directory}", directory


def test_a_url_without_a_host_points_dbt_at_the_socket_psycopg_uses(socket_url):
    url, directory = socket_url
    with psycopg.connect(url) as conn:
        database = conn.info.dbname
    env = transform.dbt_environment(url)
    assert (env["LIBCRM_DB_HOST"], env["LIBCRM_DB_NAME"]) == (directory, database)
    assert transform.run_dbt(["debug", "--connection"], url) == []  # dbt connects: no error


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://libcrm:s3cret@db/libcrm", "does not start with postgresql://"),
        ("postgresql://libcrm:s3cret@[::1/libcrm", "is not a URL libpq can read"),
    ],
)
def test_an_unreadable_url_is_a_configuration_error_that_keeps_its_password(
    monkeypatch, url, problem
):
    monkeypatch.setenv("LIBCRM_DATABASE_URL", url)
    with pytest.raises(config.ConfigError, match=problem) as raised:
        config.database_url()
    assert "LIBCRM_DATABASE_URL" in str(raised.value) and "s3cret" not in str(raised.value)

"""The embedded default PostgreSQL: created once, reused, private."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from libcrm.tooling import localdb


@pytest.fixture
def cluster_root():
    # Under /tmp and world-traversable: when tests run as root the server runs as an
    # unprivileged user, who must reach the folder.
    folder = Path(tempfile.mkdtemp(prefix="libcrm-pg-"))
    folder.chmod(0o755)
    yield folder / "pg"
    localdb.stop_cluster(localdb.Cluster(folder / "pg"))
    shutil.rmtree(folder, ignore_errors=True)


def test_embedded_cluster_starts_is_reused_and_requires_its_password(cluster_root):
    url = localdb.ensure_embedded(cluster_root)
    with psycopg.connect(url) as conn:
        assert conn.execute("select current_database()").fetchone()[0] == "libcrm"
    assert localdb.ensure_embedded(cluster_root) == url  # second run: same server, same port
    wrong = url.replace(url.split(":")[2].split("@")[0], "not-the-password")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(wrong, connect_timeout=3)
    assert oct((cluster_root / "password").stat().st_mode)[-3:] == "600"


def test_stopped_cluster_restarts_with_its_data(cluster_root):
    url = localdb.ensure_embedded(cluster_root)
    with psycopg.connect(url) as conn:
        conn.execute("create table kept (n int)")
        conn.execute("insert into kept values (42)")
    localdb.stop_cluster(localdb.Cluster(cluster_root))
    url = localdb.ensure_embedded(cluster_root)
    with psycopg.connect(url) as conn:
        assert conn.execute("select n from kept").fetchone()[0] == 42

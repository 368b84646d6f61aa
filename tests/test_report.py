"""The librarians' nightly report is replaced whole or not at all."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date

import psycopg
import pytest

from libcrm import report

DAY = date(2026, 3, 18)
# Smaller than any figure: the kernel refuses to grow a file past it, as on a full disk.
FILE_SIZE_LIMIT = 2000


@pytest.fixture(scope="module")
def profiles(warehouse_url):
    """A tiny user_profiles mart, enough for the report to draw its segment figures."""
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute(
            "create table marts.user_profiles (user_key text, value_segment text, "
            "lifecycle_stage text)"
        )
        conn.execute(
            "insert into marts.user_profiles values ('u1', 'long_term', 'active'), "
            "('u2', 'growth', 'new'), ('u3', 'growth', 'lapsed')"
        )
    return warehouse_url


def _contents(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_a_full_disk_leaves_the_previous_report_intact_and_no_partial_one(profiles, tmp_path):
    folder = tmp_path / DAY.isoformat()
    index = report.build(DAY, profiles, folder)
    before = _contents(folder)
    assert index == folder / "index.html" and {"segments.png", "lifecycle.png"} <= set(before)

    child = textwrap.dedent(
        f"""
        import resource, signal
        from datetime import date
        from pathlib import Path
        from libcrm import report
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
        resource.setrlimit(resource.RLIMIT_FSIZE, ({FILE_SIZE_LIMIT}, {FILE_SIZE_LIMIT}))
        report.build(date.fromisoformat({DAY.isoformat()!r}), {profiles!r}, Path({str(folder)!r}))
        """
    )
    run = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True)

    assert run.returncode != 0 and "File too large" in run.stderr, run.stderr[-2000:]
    assert _contents(folder) == before
    assert [path.name for path in tmp_path.iterdir()] == [DAY.isoformat()]


def test_a_new_report_replaces_the_whole_previous_one(profiles, tmp_path):
    folder = tmp_path / DAY.isoformat()
    report.build(DAY, profiles, folder)
    (folder / "figure-of-an-older-version.png").write_bytes(b"stale")
    report.build(DAY, profiles, folder)
    assert "figure-of-an-older-version.png" not in _contents(folder)
    assert (folder / "index.html").read_text().count("<h2>") == 6
    assert [path.name for path in tmp_path.iterdir()] == [DAY.isoformat()]

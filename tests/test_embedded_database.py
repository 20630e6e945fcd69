"""The embedded PostgreSQL starts where a connection first needs it, not when settings are read."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.db import connection

from config.database import SERVER_SETTINGS
from tests.catalogue import ROOT


def test_a_command_that_needs_no_database_starts_no_server(tmp_path):
    data_dir = tmp_path / "postgres"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["EMBEDDED_POSTGRES_DIR"] = str(data_dir)

    check = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert check.returncode == 0, check.stderr
    assert not data_dir.exists()


def test_the_first_connection_fills_in_the_servers_address(db):
    connection.ensure_connection()
    assert connection.settings_dict["HOST"]  # its socket folder
    assert connection.settings_dict["PORT"]


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="tunes the embedded server only")
def test_the_embedded_server_runs_with_the_apps_settings_not_postgresqls_small_defaults(db):
    with connection.cursor() as cursor:
        for name, value in SERVER_SETTINGS.items():
            cursor.execute("SELECT current_setting(%s)", [name])
            assert cursor.fetchone()[0] == value, name

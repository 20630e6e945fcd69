"""DATABASES from the environment: the server options a DATABASE_URL names (`?options=-c ...`)
hold beside the app's own per-connection search settings, not replaced by them."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import quote

from tests.catalogue import ROOT

SHOW = (
    "from django.db import connection\n"
    "with connection.cursor() as c:\n"
    "    c.execute(\"SELECT current_setting('statement_timeout'), current_setting('jit'),"
    " current_setting('hnsw.ef_search', true)\")\n"
    "    print(*c.fetchone())\n"
)


def test_options_in_database_url_are_merged_with_the_apps(manage_py_env):
    url = manage_py_env["DATABASE_URL"] + "&options=" + quote("-c statement_timeout=4321")
    shown = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", SHOW],
        cwd=ROOT,
        env={**manage_py_env, "DATABASE_URL": url, "HNSW_EF_SEARCH": "123"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    assert shown == ["4321ms", "off", "123"]

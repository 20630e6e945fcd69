"""The app runs as a role that owns its tables and nothing more (manage.py create_app_role)."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from urllib.parse import quote, urlencode

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.catalogue import LISTING_YEAR, ROOT, SEED

ROLE = "papersearch_app_test"

# Everything production does as the role, in one process (one model load): migrate (nothing to
# do), import, embed, search by meaning, take a rate-limit token, beat as a worker.
AS_THE_ROLE = f"""
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from io import StringIO
from django.core.management import call_command
from django.db import connection
from ops import heartbeat
from ops.limits import Limit
from ops.ratelimit import take
from papers.indexing import embed_here
from papers.models import Paper
from search.engine import search
from search.state import SearchState
call_command("migrate", verbosity=0)
call_command("import_papers", {str(SEED)!r}, "--year", "{LISTING_YEAR}", stdout=StringIO())
embed_here(list(Paper.objects.values_list("pk", flat=True)))
with connection.cursor() as cursor:
    cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
    print(*cursor.fetchone())
print(search(SearchState.from_query({{"q": "federated learning"}})).total > 0)
print(take("192.0.2.1", Limit(rate=1.0, burst=5)) is None)
heartbeat.start().set()
print(heartbeat.last_seen_seconds() is not None)
"""


@pytest.fixture
def app_role(transactional_db):
    yield ROLE
    with connection.cursor() as cursor:
        cursor.execute(f"REASSIGN OWNED BY {ROLE} TO current_user")
        cursor.execute(f"DROP OWNED BY {ROLE}")
        cursor.execute(f"DROP ROLE {ROLE}")


def test_the_app_works_as_its_own_role(app_role, manage_py_env):
    out = StringIO()
    call_command("create_app_role", app_role, stdout=out)
    assert out.getvalue().startswith(f"role {app_role} owns ")
    db = connection.settings_dict
    query = urlencode({"host": db["HOST"], "port": db["PORT"]}) if db["HOST"] else ""
    env = {**manage_py_env, "DATABASE_URL": f"postgresql://{quote(app_role)}@/{db['NAME']}?{query}"}
    result = subprocess.run(
        [sys.executable, "-c", AS_THE_ROLE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [app_role, "False", "True", "True", "True"]


def test_the_role_cannot_do_more(app_role):
    call_command("create_app_role", app_role, stdout=StringIO())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = %s",
            [app_role],
        )
        assert cursor.fetchone() == (False, False, False)
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> %s",
            [app_role],
        )
        assert cursor.fetchone()[0] == 0


def test_it_needs_a_password_variable_that_is_set(app_role, monkeypatch):
    monkeypatch.delenv("NO_SUCH_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="NO_SUCH_PASSWORD is not set"):
        call_command("create_app_role", app_role, "--password-env", "NO_SUCH_PASSWORD")
    call_command("create_app_role", app_role, stdout=StringIO())  # for the fixture's cleanup

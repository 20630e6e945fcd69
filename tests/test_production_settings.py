"""DJANGO_ENV=production: what it refuses to start without, and `check --deploy` finding nothing.

Each runs `manage.py` in a subprocess, as an operator would, since settings are read once per
process.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "papers.example.org",
    # Never connected to: check --deploy reads settings only.
    "DATABASE_URL": "postgres://papersearch:secret@127.0.0.1:1/papersearch",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # DJANGO_ALLOW_ASYNC_UNSAFE: set for the browser tests (tests/browser/conftest.py), which a
    # deployment must not have (check --deploy says so).
    dropped = {*PRODUCTION, "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environ = {k: v for k, v in os.environ.items() if k not in dropped}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], env=environ, capture_output=True, text=True
    )


def without(name: str) -> dict[str, str]:
    return {k: v for k, v in PRODUCTION.items() if k != name}


def test_check_deploy_finds_nothing_in_production_mode():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_development_mode_fails_check_deploy():
    """The check is not vacuous: the development settings it passes in production fail it."""
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W004" in result.stderr  # no HSTS
    assert "security.W012" in result.stderr  # session cookie not secure


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SECRET_KEY", "DJANGO_ENV=production needs SECRET_KEY"),
        ("ALLOWED_HOSTS", "DJANGO_ENV=production needs ALLOWED_HOSTS"),
        ("DATABASE_URL", "DJANGO_ENV=production needs DATABASE_URL"),
    ],
)
def test_production_refuses_to_start_without(missing, message):
    result = manage("check", **without(missing))
    assert result.returncode != 0
    assert result.stderr.startswith(f"error: {message}")  # the message alone, no traceback
    assert "Traceback" not in result.stderr


def test_production_uses_the_embedded_database_only_when_told_to():
    result = manage("check", **without("DATABASE_URL"), EMBEDDED_DATABASE="true")
    assert result.returncode == 0, result.stderr


def test_production_refuses_debug():
    result = manage("check", **PRODUCTION, DEBUG="true")
    assert "DEBUG must stay off" in result.stderr


def test_a_bad_rate_limit_is_named():
    result = manage("check", **PRODUCTION, RATE_LIMIT="lots")
    assert "RATE_LIMIT must look like 60/minute" in result.stderr


def test_production_settings_behind_a_proxy():
    script = (
        "from django.conf import settings as s; "
        "print(s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_SSL_REDIRECT, s.CSRF_TRUSTED_ORIGINS, s.STORAGES['staticfiles']['BACKEND'])"
    )
    result = manage(
        "shell",
        "--verbosity",
        "0",
        "-c",
        script,
        **PRODUCTION,
        PROXY_COUNT="1",
        CSRF_TRUSTED_ORIGINS="https://papers.example.org",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
        "True",
        "True",
        "True",
        "['https://papers.example.org']",
        "whitenoise.storage.CompressedManifestStaticFilesStorage",
    ]


def test_the_admin_asks_anyone_to_log_in_and_there_is_no_default_account(client, db):
    from io import StringIO

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from tests.catalogue import SEED

    call_command("load_demo_data", str(SEED), stdout=StringIO())  # what `make run` does
    assert get_user_model().objects.count() == 0
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"


def test_production_keeps_the_connections_of_the_primary_and_of_each_replica():
    script = (
        "from django.conf import settings as s; "
        "print(*[(a, d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS']) for a, d in s.DATABASES.items()])"
    )
    replicas = "postgres://reader@127.0.0.1:1/papersearch"
    result = manage(
        "shell", "--verbosity", "0", "-c", script, **PRODUCTION, DATABASE_REPLICA_URLS=replicas
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["('default',", "60,", "True)", "('replica1',", "60,", "True)"]

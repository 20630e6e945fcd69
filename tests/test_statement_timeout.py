"""A search past SEARCH_STATEMENT_TIMEOUT is stopped by PostgreSQL and answered with a 503.

The search is made slow for real: another connection holds an exclusive lock on the tables it
reads, so its first statement waits, and a lock wait counts against statement_timeout.
"""

from __future__ import annotations

import contextlib

import psycopg
import pytest
from django.db import connection

from config.database import server_connection

SEARCH = "/?q=federated+learning&mode=keyword"


@contextlib.contextmanager
def tables_locked():
    with server_connection() as other:
        other.autocommit = False
        other.execute("LOCK TABLE papers_keyworddoc, papers_paper IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            other.rollback()


@pytest.fixture
def short_timeout(settings, demo_catalogue_live):
    settings.SEARCH_STATEMENT_TIMEOUT = 300  # milliseconds
    return settings


@pytest.mark.parametrize(
    ("url", "content_type", "message"),
    [
        (SEARCH, "text/html", b"This search took too long"),
        ("/api/search?q=federated+learning", "application/json", b'"request": "This search'),
        ("/feed.atom?q=federated+learning", "text/plain", b"This search took too long"),
    ],
)
def test_a_search_past_its_timeout_is_a_503(client, short_timeout, url, content_type, message):
    with tables_locked():
        response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith(content_type)
    assert message in response.content


def test_the_next_search_works_and_the_timeout_is_gone_after_it(client, short_timeout):
    with tables_locked():
        assert client.get(SEARCH).status_code == 503
    response = client.get(SEARCH)
    assert response.status_code == 200
    assert response.context["results"].total > 0
    # Only searches are limited: an import on this connection afterwards is not.
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"


def test_a_search_within_its_timeout_runs(client, short_timeout):
    assert client.get(SEARCH).status_code == 200


def test_the_lock_really_blocks_without_a_timeout(short_timeout):
    """The 503s above come from the timeout: without one, the same search waits on the lock."""
    with tables_locked(), server_connection() as probe:
        probe.execute("SET lock_timeout = '100ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            probe.execute("SELECT count(*) FROM papers_keyworddoc")

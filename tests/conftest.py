"""Shared fixtures: the real embedded PostgreSQL (pytest-django's test database on it) and the
real embedding model, loaded once per session."""

from __future__ import annotations

import itertools

import pytest

from tests.catalogue import add_organizations, import_seed

_vectors: dict[str, tuple] = {}  # content_hash -> (vector, model, hash): real, computed once


def embed_all() -> None:
    """Give every paper its real embedding; the model runs once per text per test session."""
    from papers.indexing import embed_ids
    from papers.models import Paper

    missing = list(Paper.objects.exclude(content_hash__in=_vectors).values_list("pk", flat=True))
    if missing:
        embed_ids(missing)
        for paper in Paper.objects.filter(pk__in=missing):
            _vectors[paper.content_hash] = (
                paper.embedding,
                paper.embedding_model,
                paper.embedding_hash,
            )
    stale = list(Paper.objects.exclude(pk__in=missing))
    for paper in stale:
        paper.embedding, paper.embedding_model, paper.embedding_hash = _vectors[paper.content_hash]
    Paper.objects.bulk_update(stale, ["embedding", "embedding_model", "embedding_hash"])


@pytest.fixture
def demo_catalogue(db):
    """The 57 papers of the demo listing, every one embedded by the real model."""
    import_seed()
    embed_all()


@pytest.fixture
def demo_catalogue_live(transactional_db):
    """The demo catalogue, committed, for tests where another thread or process reads it."""
    import_seed()
    embed_all()


@pytest.fixture
def manage_py_env(transactional_db) -> dict[str, str]:
    """Environment for a `manage.py` subprocess working on this test's database.

    Needs transactional_db: a subprocess only sees what this test has committed.
    """
    import os
    from urllib.parse import quote, urlencode

    from django.db import connection

    db = connection.settings_dict
    query = urlencode({"host": db["HOST"], "port": db["PORT"]}) if db["HOST"] else ""
    url = f"postgresql://{quote(db['USER'])}@/{db['NAME']}?{query}"
    return {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}


_tests_run = itertools.count()


@pytest.fixture(autouse=True)
def _vacuum_the_vector_index_now_and_then(request):
    """Every demo_catalogue test imports 57 papers and rolls them back; each rolled-back copy
    stays in the HNSW index as a dead duplicate until VACUUM. A few thousand of them crowd out the
    live rows (pgvector stops after hnsw.max_scan_tuples) and searches by meaning come back short.
    """
    if "django_db_setup" not in request.fixturenames or next(_tests_run) % 10:
        return
    from django.db import connection

    request.getfixturevalue("django_db_setup")  # the test database, never the real one
    with request.getfixturevalue("django_db_blocker").unblock(), connection.cursor() as cursor:
        cursor.execute("VACUUM papers_paper")


@pytest.fixture
def catalogue(demo_catalogue):
    """The demo catalogue, with the organizations of tests.catalogue.ORGS given to some papers."""
    add_organizations()

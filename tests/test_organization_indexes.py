"""A big organization's own vector index (papers.organization_indexes): built for the
organizations over the threshold and only for them, dropped when one shrinks, built at the end
of an import, and walked by a search filtered by that organization, with the same results."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.core.management import call_command
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from papers import organization_indexes
from papers.ingest.daily_papers import parse_file
from papers.loader import upsert_papers
from papers.models import Organization, Paper
from search import engine
from search.engine import search
from search.state import SearchState
from tests.catalogue import LISTING_YEAR, ORGS, SEED, add_organizations

ACME_PAPERS = len(ORGS["acme"][1])  # 4; beta has 3


def org(slug: str) -> Organization:
    return Organization.objects.get(slug=slug)


def ids(query: str) -> list[int]:
    return [hit.paper.pk for hit in search(SearchState.from_query(QueryDict(query))).hits]


def test_only_organizations_over_the_threshold_get_an_index(catalogue):
    done = organization_indexes.sync(min_papers=ACME_PAPERS - 1)
    assert done.created == [org("acme").pk] and not done.dropped
    assert organization_indexes.usable(connection.cursor(), org("acme").pk)
    assert not organization_indexes.usable(connection.cursor(), org("beta").pk)
    again = organization_indexes.sync(min_papers=ACME_PAPERS - 1)
    assert not again.created and not again.dropped


def test_an_organization_that_shrinks_loses_its_index(catalogue):
    organization_indexes.sync(min_papers=ACME_PAPERS - 1)
    Paper.objects.filter(organization=org("acme")).first().delete()
    done = organization_indexes.sync(min_papers=ACME_PAPERS - 1)
    assert done.dropped == [org("acme").pk] and not done.created
    assert not organization_indexes.usable(connection.cursor(), org("acme").pk)


@pytest.mark.parametrize(
    "query",
    [
        "q=kv+cache&mode=semantic&org=acme",
        "q=kv+cache+offloading&mode=hybrid&org=acme",
        "q=memory+-cache&mode=semantic&org=acme&from=2024",
    ],
)
def test_a_search_filtered_by_the_organization_walks_its_index(catalogue, monkeypatch, query):
    """Through the whole graph, filtering as it walks, or through the organization's own: the
    same list; and PostgreSQL does take the organization's index."""
    monkeypatch.setattr(engine, "EXACT_LIMIT", 0)  # no exact ranking of the few papers
    through_every_paper = ids(query)
    assert through_every_paper
    organization_indexes.sync(min_papers=ACME_PAPERS - 1)
    with CaptureQueriesContext(connection) as captured:
        assert ids(query) == through_every_paper
    condition = organization_indexes.condition(org("acme").pk, "p.organization_id")
    statement = next(q["sql"] for q in captured if condition in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert organization_indexes.index_name(org("acme").pk) in plan


def test_two_organizations_walk_the_whole_graph(catalogue, monkeypatch):
    monkeypatch.setattr(engine, "EXACT_LIMIT", 0)
    organization_indexes.sync(min_papers=1)
    with CaptureQueriesContext(connection) as captured:
        assert ids("q=kv+cache&mode=semantic&org=acme&org=beta")
    assert not any("+ 0) = " in q["sql"] for q in captured)


def test_an_import_builds_the_indexes_at_its_end(transactional_db, monkeypatch):
    monkeypatch.setattr(organization_indexes, "MIN_PAPERS", 2)
    records = list(parse_file(SEED, year=LISTING_YEAR))
    summary = upsert_papers(records, queue_embeddings=False)
    # The listing names Microsoft and Peking University once each: no organization is big.
    assert summary.org_indexes is not None and not summary.org_indexes.created
    moved = [replace(r, organization_slug="big", organization_name="Big Lab") for r in records[:3]]
    summary = upsert_papers(moved, queue_embeddings=False)
    big = Organization.objects.get(slug="big")
    assert Paper.objects.filter(organization=big).count() == 3
    assert summary.org_indexes.created == [big.pk]
    assert "1 created" in str(summary)
    assert organization_indexes.usable(connection.cursor(), big.pk)


def test_the_command_reports_what_it_did(catalogue, monkeypatch, capsys):
    monkeypatch.setattr(organization_indexes, "MIN_PAPERS", ACME_PAPERS - 1)
    call_command("organization_indexes")
    assert "1 created, 0 dropped" in capsys.readouterr().out


def test_a_second_process_leaves_the_work_to_the_first(demo_catalogue_live):
    """While another connection holds the lock (an import finishing at the same time), sync
    builds nothing, and says so."""
    add_organizations()
    other = connection.get_new_connection(connection.get_connection_params())
    other.autocommit = True
    try:
        other.execute("SELECT pg_advisory_lock(hashtext(%s))", [organization_indexes.LOCK])
        done = organization_indexes.sync(min_papers=ACME_PAPERS - 1)
        assert done.busy and not done.created
        assert "another process" in str(done)
        other.execute("SELECT pg_advisory_unlock(hashtext(%s))", [organization_indexes.LOCK])
        assert organization_indexes.sync(min_papers=ACME_PAPERS - 1).created == [org("acme").pk]
    finally:
        other.close()

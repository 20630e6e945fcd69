"""A search's second statements on a second connection beside the page's (search.side_connection):
the facets of a filtered search by meaning, and hybrid plain words' walk of the graph. The same
results as one after the other, and the page's connection no longer runs those statements."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import QueryDict
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from search import side_connection
from search.engine import search
from search.state import SearchState
from tests.catalogue import add_organizations

FILTERED = [
    "q=KV+cache&mode=hybrid&org=acme",
    "q=%22KV+cache%22+-offloading&mode=hybrid&org=acme&org=beta",
    "q=serving+large+language+models&mode=semantic&org=beta",
    "q=LLM+inference&mode=hybrid&cat=cs.DC",
    "q=attention&mode=hybrid&org=acme&cat=cs.LG",
]


@pytest.fixture
def kept_connections():
    """Connections kept between searches, as in production (CONN_MAX_AGE): only then does a
    search open a second one. Closed again after the test."""
    kept = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 60  # the dict every thread's connection reads
    yield
    connection.settings_dict["CONN_MAX_AGE"] = kept
    side_connection.close_all()


@pytest.fixture
def live_catalogue(demo_catalogue_live, kept_connections):
    """Committed, so that a second connection sees it; with organizations and categories."""
    from papers.models import Paper

    add_organizations()
    for paper in Paper.objects.order_by("pk")[::3]:
        paper.categories = ["cs.DC", "cs.LG"]
        paper.save(update_fields=["categories"])


def _run(query: str, *, walks: list | None = None):
    with CaptureQueriesContext(connection) as on_page_connection:
        results = search(SearchState.from_query(QueryDict(query)))
    statements = [q["sql"] for q in on_page_connection.captured_queries]
    fused = [sql for sql in statements if "FULL OUTER JOIN semantic" in sql]
    if walks is not None:  # the page's connection walking the graph (ORDER BY distance)
        walks += [sql for sql in fused if "ORDER BY p.embedding <=>" in sql]
    facets = (
        {f.slug: f.count for f in results.facets},
        [(c.name, c.count) for c in results.category_facets],
    )
    return [h.paper.id for h in results.hits], facets, len(fused), results.total, results.listed


@pytest.mark.parametrize("query", FILTERED)
def test_facets_beside_the_page_are_the_facets_after_it(live_catalogue, query):
    with override_settings(SEARCH_SECOND_CONNECTION=False):
        one_by_one = _run(query)
    side_by_side = _run(query)
    assert side_by_side[:2] == one_by_one[:2] and side_by_side[3:] == one_by_one[3:]
    assert one_by_one[1][0] or one_by_one[1][1]  # something was counted
    if "mode=hybrid" in query:  # each facet without its filter took the page's connection
        filters = ("org=" in query) + ("cat=" in query)
        assert side_by_side[2] == one_by_one[2] - filters >= 1


@pytest.mark.parametrize(
    "query",
    [
        "q=KV+cache+compression",
        "q=serving+large+language+models&page=2",
        "q=attention&org=acme&from=2024",
        "q=LLM+inference&cat=cs.DC&sort=newest",
        "q=distributed+training&like=3",
    ],
)
def test_a_walk_beside_the_keyword_side_ranks_as_the_walk_after_it(live_catalogue, query):
    """Hybrid plain words walk the graph on a second connection while the keyword matches
    are found, and the fused statement reads the walk's papers instead of walking again."""
    from papers.models import Paper

    query = query.replace("like=3", f"like={Paper.objects.order_by('pk')[3].pk}")
    walked_here: list = []
    with override_settings(SEARCH_SECOND_CONNECTION=False):
        one_by_one = _run(query, walks=walked_here)
    assert walked_here  # one after the other, the page's statement walks
    walked_beside: list = []
    side_by_side = _run(query, walks=walked_beside)
    assert side_by_side[0] and side_by_side[0] == one_by_one[0]
    assert side_by_side[1] == one_by_one[1] and side_by_side[3:] == one_by_one[3:]
    assert not walked_beside  # beside it, the page's statement walks no more


def test_inside_a_transaction_the_page_connection_counts_them(catalogue, kept_connections):
    """A second connection would not see this test's uncommitted papers."""
    hits, facets, fused, *_ = _run("q=KV+cache&mode=hybrid&org=acme")
    assert facets[0]["acme"] >= 1 and fused == 2 and hits


def test_without_kept_connections_the_page_connection_counts_them(demo_catalogue_live):
    """Opening a connection per search would cost more than the statement it saves."""
    add_organizations()
    assert connection.settings_dict["CONN_MAX_AGE"] == 0
    hits, facets, fused, *_ = _run("q=KV+cache&mode=hybrid&org=acme")
    assert facets[0]["acme"] >= 1 and fused == 2 and hits

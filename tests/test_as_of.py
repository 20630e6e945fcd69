"""Links pinned to the catalogue as it was (as_of=): the same ids in the same order after an
import, counts and facets of that catalogue, said so on the page, offered by "Copy link"."""

from __future__ import annotations

from datetime import date

import pytest
from django.http import QueryDict

from papers.ingest import PaperRecord
from papers.loader import upsert_papers
from search import examples
from search.engine import search
from search.state import SearchState
from tests.conftest import embed_all

NEW = [
    PaperRecord(
        title=f"Serverless inference of large language models, part {n}",
        abstract="Serverless serving of large language model inference with cold starts, "
        "KV cache reuse and GPU scheduling for bursty traffic.",
        source="test",
        line=n,
        published=date(2026, 3, 10),
    )
    for n in range(1, 4)
]
SEARCHES = ["q=serverless+language+models", "q=serverless&mode=keyword", "", "q=gpu&mode=semantic"]


def run(query: str):
    state = examples.checked(SearchState.from_query(QueryDict(query)))
    assert not state.errors, state.errors
    results = search(state)
    return (
        [h.paper.pk for h in results.hits],
        results.total,
        [(f.name, f.count) for f in results.category_facets],
    )


@pytest.mark.django_db(transaction=True)
def test_a_pinned_link_shows_the_same_papers_in_the_same_order_after_an_import(
    demo_catalogue_live,
):
    pin = SearchState().pinned(examples.latest_import()).as_of
    before = {query: run(f"{query}&as_of={pin}") for query in SEARCHES}
    upsert_papers(NEW, queue_embeddings=False)
    embed_all()
    live = run(SEARCHES[0])[0]
    for query in SEARCHES:
        assert run(f"{query}&as_of={pin}") == before[query], query
    assert any(title.startswith("Serverless inference") for title in _titles(live))


def _titles(pks: list[int]) -> list[str]:
    from papers.models import Paper

    return list(Paper.objects.filter(pk__in=pks).values_list("title", flat=True))


def test_the_page_says_it_is_pinned_and_links_to_the_live_catalogue(client, demo_catalogue):
    pin = "2020-01-01T00:00:00Z"
    response = client.get(f"/?q=serverless&as_of={pin}", follow=True)  # to the canonical URL
    html = response.content.decode()
    assert response.status_code == 200
    assert "Showing the catalogue as of Jan 1, 2020, 00:00:00 UTC" in html
    assert 'href="/?q=serverless"' in html
    assert response.context["results"].total == 0  # nothing had been imported by then


def test_copy_link_offers_the_search_pinned_at_the_latest_import(client, demo_catalogue):
    response = client.get("/?q=serverless")
    pinned = response.context["pinned_url"]
    latest = SearchState().pinned(examples.latest_import()).as_of
    assert pinned == f"http://testserver/?q=serverless&as_of={latest}"  # readable: ":" as is
    assert 'id="pinned-link"' in response.content.decode()


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2025-13-01T00:00Z",
        "2025-01-01",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00+05:00",
    ],
)
def test_a_bad_or_future_as_of_is_a_400_with_its_message(client, demo_catalogue, value):
    for path in ("/", "/api/search", "/feed.atom"):
        response = client.get(path, {"as_of": value})
        assert response.status_code == 400, path
        assert "as_of" in response.content.decode()


def test_as_of_is_written_back_in_utc(demo_catalogue):
    state = SearchState.from_query(QueryDict("as_of=2025-03-14T11%3A30%2B02%3A00"))
    assert state.as_of == "2025-03-14T09:30:00Z"
    assert state.to_dict()["as_of"] == "2025-03-14T09:30:00Z"

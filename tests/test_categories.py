"""The arXiv category filter (`cat=`): in the URL, in every mode, with counts that ignore their
own filter, in the page, the API and the feed."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from papers.models import Paper
from search.engine import search
from search.state import SearchState
from tests.catalogue import INFINITE, INSTINFER, LIFL, TOKENRING, XLLM

CATEGORIES = {
    INFINITE: ["cs.DC", "cs.LG"],
    INSTINFER: ["cs.DC"],
    TOKENRING: ["cs.DC", "cs.AR"],
    XLLM: ["cs.CL"],
    LIFL: ["cs.LG"],
}


@pytest.fixture
def categorized(catalogue):
    for prefix, categories in CATEGORIES.items():
        Paper.objects.filter(title__startswith=prefix).update(categories=categories)


def run(query: str):
    state = SearchState.from_query(QueryDict(query))
    assert not state.errors, state.errors
    return search(state)


def titles(results) -> set[str]:
    return {hit.paper.title.split(":")[0] for hit in results.hits}


def counts(results) -> dict[str, int]:
    return {f.name: f.count for f in results.category_facets}


def test_categories_round_trip_through_the_url_sorted_and_without_repeats():
    state = SearchState.from_query(QueryDict("q=kv&cat=cs.LG&cat=cs.DC&cat=cs.LG&org=acme"))
    assert state.cats == ("cs.DC", "cs.LG")
    assert state.to_query() == "q=kv&org=acme&cat=cs.DC&cat=cs.LG"
    assert SearchState.from_query(QueryDict(state.to_query())) == state


def test_a_malformed_category_is_refused_with_a_message():
    state = SearchState.from_query(QueryDict("cat=cs.LG&cat=<script>"))
    assert state.errors["cat"] == "Not an arXiv category: '<script>'."
    assert state.cats == ("cs.LG",)


@pytest.mark.parametrize("mode", ["keyword", "hybrid", "semantic"])
def test_each_mode_keeps_only_papers_of_a_chosen_category(categorized, mode):
    results = run(f"q=kv+cache&mode={mode}&cat=cs.DC")
    assert results.hits
    assert all("cs.DC" in Paper.objects.get(pk=hit.paper.pk).categories for hit in results.hits)


def test_category_counts_ignore_the_category_filter_and_keep_the_others(categorized):
    unfiltered = counts(run("q=kv+cache&mode=keyword"))
    filtered = run("q=kv+cache&mode=keyword&cat=cs.CL")
    assert counts(filtered) == unfiltered  # so another category can be added
    assert {f.name for f in filtered.category_facets if f.selected} == {"cs.CL"}
    assert titles(filtered) == {XLLM}


def test_browsing_by_category_counts_every_paper_of_it(categorized):
    results = run("cat=cs.DC")
    assert results.total == 3
    assert (
        titles(results) == {INFINITE, INSTINFER, TOKENRING.split(":")[0]} or len(results.hits) == 3
    )
    assert counts(results)["cs.LG"] == 2 and counts(results)["cs.CL"] == 1


def test_a_selected_category_without_papers_stays_listed_to_be_switched_off(categorized):
    results = run("q=kv+cache&mode=keyword&cat=math.OC")
    assert results.total == 0
    assert [(f.name, f.count, f.selected) for f in results.category_facets][-1] == (
        "math.OC",
        0,
        True,
    )


def test_a_changed_category_counts_in_the_next_search(categorized):
    Paper.objects.filter(title__startswith=XLLM).update(categories=["cs.DC"])
    assert XLLM in titles(run("q=xLLM&mode=keyword&cat=cs.DC"))


def test_the_api_and_the_page_carry_the_category(client, categorized):
    body = client.get("/api/search?q=kv+cache&cat=cs.LG").json()
    assert body["query"]["cat"] == ["cs.LG"]
    assert {"name": "cs.LG", "count": 2} in body["facets"]["categories"]
    page = client.get("/?q=kv+cache&cat=cs.LG").content.decode()
    assert 'name="cat" value="cs.LG" checked' in page
    feed = client.get("/feed.atom?q=kv+cache&cat=cs.LG")
    assert feed.status_code == 200


def test_a_catalogue_without_categories_shows_no_category_filter(client, catalogue):
    assert "arXiv category" not in client.get("/?q=kv+cache").content.decode()
    assert "arXiv category" in client.get("/?q=kv+cache&cat=cs.LG").content.decode()

"""Property-based tests: whatever a client puts in a URL, the search answers politely.

Hypothesis draws query strings from any unicode (control characters and NUL included), SQL and
tsquery metacharacters, huge and repeated parameters, and sends them to the page, the API, the
feed and the paper pages of a real catalogue. The Django test client re-raises any exception a
view lets escape, so an unhandled error fails the test as well as a 500 does.
"""

from __future__ import annotations

import pytest
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.state import SearchState

PARAMETERS = ("q", "mode", "org", "cat", "from", "to", "sort", "page", "like", "unlike", "as_of")
# Fragments that mean something to SQL, to PostgreSQL's tsquery parser, to websearch_to_tsquery,
# to the highlighter (\x02 \x03), to HTML and to Python's int(): drawn whole so they meet often.
METACHARACTERS = (
    "'",
    '"',
    "\\",
    "&",
    "|",
    "!",
    ":*",
    "<->",
    "<2>",
    "(",
    ")",
    ";--",
    "%",
    "_",
    "OR",
    "-",
    "AND",
    "NOT",
    "\x00",
    "\x02",
    "\x03",
    "\x7f",
    "<script>",
    "&amp;",
    "9" * 5000,
    "1e309",
    "²",
    "٣",
    "-1",
    "0",
    "2024-02-30",
    "9999-99-99",
    "cs.LG",
    "hybrid",
    "newest",
    " ",
    "\u202e",
)
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
fragment = st.one_of(any_text, st.sampled_from(METACHARACTERS))
value = st.lists(fragment, max_size=4).map("".join) | st.text(max_size=3000)
names = st.sampled_from(PARAMETERS) | any_text
query_strings = st.lists(st.tuples(names, value), max_size=30)
# A typed query in each mode and sort, valid filters or not: these reach the ranking SQL.
searches = st.fixed_dictionaries(
    {"q": value, "mode": st.sampled_from(["hybrid", "keyword", "semantic"])},
    optional={
        "sort": st.sampled_from(["relevance", "newest", "oldest", "upvotes"]),
        "org": st.sampled_from(["microsoft", "google", "nobody"]) | value,
        "from": st.sampled_from(["2024", "2024-05", "2023-01-01"]) | value,
        "page": st.integers(1, 600).map(str) | value,
    },
).map(lambda params: list(params.items()))

FUZZ = settings(
    max_examples=120,
    deadline=None,  # the first search loads the model
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _query_dict(pairs: list[tuple[str, str]]) -> QueryDict:
    params = QueryDict(mutable=True)
    for name, text in pairs:
        params.appendlist(name, text)
    return params


@given(query_strings)
@settings(max_examples=400, deadline=None)
def test_any_parameters_parse_into_a_state_that_writes_back_to_itself(pairs):
    state = SearchState.from_query(_query_dict(pairs))
    again = SearchState.from_query(QueryDict(state.to_query()))
    assert again == state
    assert again.errors == {}
    assert "\x00" not in state.q and len(state.q) <= 500
    assert 1 <= state.page <= 500


@pytest.mark.parametrize("path", ["/", "/api/search", "/feed.atom"])
@given(pairs=query_strings | searches)
@FUZZ
def test_any_parameters_get_an_answer_never_a_server_error(catalogue, client, path, pairs):
    response = client.get(path, _query_dict(pairs))
    assert response.status_code in (200, 302, 400), response.content[:500]
    if path == "/api/search":
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert ("errors" in body) == (response.status_code == 400)


@given(pairs=query_strings)
@FUZZ
def test_an_htmx_search_with_any_parameters_gets_its_partial(catalogue, client, pairs):
    response = client.get("/", _query_dict(pairs), headers={"HX-Request": "true"})
    assert response.status_code in (200, 400)


@given(
    pk=st.integers(min_value=-(10**30), max_value=10**30) | st.sampled_from([0, 2**63, 2**63 - 1]),
    slug=any_text.filter(lambda s: "/" not in s and s not in ("", ".", "..")),
    came_from=value,
)
@FUZZ
def test_any_paper_address_is_found_or_not_found(catalogue, client, pk, slug, came_from):
    for path in (f"/papers/{pk}/", f"/papers/{pk}/x/", f"/api/papers/{pk}"):
        response = client.get(path, {"from": came_from})
        assert response.status_code in (200, 301, 404), path
    response = client.get(f"/papers/{pk}/{slug}/".replace("?", "%3F").replace("#", "%23"))
    assert response.status_code in (200, 301, 404)

"""The JSON API: /api/search (the same searches as the page) and /api/papers/<id>."""

from __future__ import annotations

import re

import pytest

from papers.models import Paper
from tests.catalogue import INFINITE, LIFL, paper

TOP_LEVEL = {
    "query",
    "total",
    "loosely_related",
    "examples",
    "total_approximate",
    "page",
    "pages",
    "not_indexed",
    "fallback",
    "did_you_mean",
    "results",
    "facets",
    "exports",
}
PAPER_FIELDS = {
    "id",
    "title",
    "abstract",
    "published",
    "organization",
    "authors",
    "authors_count",
    "categories",
    "arxiv_id",
    "abs_url",
    "pdf_url",
    "doi",
    "upvotes",
    "url",
}
RESULT_FIELDS = PAPER_FIELDS | {"score", "keyword_rank", "semantic_rank", "strong", "named"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def get_json(client, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    return response.json()


def assert_paper_json(item: dict) -> None:
    assert isinstance(item["id"], int)
    assert isinstance(item["title"], str) and item["title"]
    assert isinstance(item["abstract"], str) and item["abstract"]
    assert item["published"] is None or DATE.match(item["published"])
    org = item["organization"]
    assert org is None or (
        set(org) == {"slug", "name"} and all(isinstance(v, str) for v in org.values())
    )
    assert item["authors_count"] is None or isinstance(item["authors_count"], int)
    assert isinstance(item["upvotes"], int)
    stored = Paper.objects.get(pk=item["id"])
    assert item["authors"] == stored.authors and item["categories"] == stored.categories
    assert item["arxiv_id"] == (stored.source_id or None)
    assert item["abs_url"] == stored.abs_url and item["pdf_url"] == stored.pdf_url
    assert item["doi"] == (stored.doi or None)
    assert item["url"] == f"http://testserver{stored.get_absolute_url()}"


def assert_result_json(item: dict, mode: str) -> None:
    assert set(item) == RESULT_FIELDS
    assert_paper_json(item)
    for rank in ("keyword_rank", "semantic_rank"):
        assert item[rank] is None or (isinstance(item[rank], int) and item[rank] >= 1)
    if mode == "keyword":
        assert item["semantic_rank"] is None and item["keyword_rank"]
    if mode == "semantic":
        assert item["keyword_rank"] is None and item["semantic_rank"]
    assert isinstance(item["score"], float)  # a number, not a Decimal written as a string
    assert item["score"] > 0


# --- /api/search ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_the_search_api_answers_with_the_documented_schema(client, catalogue, mode):
    body = get_json(client, f"/api/search?q=KV+cache+offloading&mode={mode}")
    assert set(body) == TOP_LEVEL
    assert body["query"] == {
        "q": "KV cache offloading",
        "mode": mode,
        "org": [],
        "cat": [],
        "from": None,
        "to": None,
        "like": [],
        "unlike": [],
        "as_of": None,
        "sort": "relevance",
        "page": 1,
    }
    listed = body["total"] + body["loosely_related"]
    assert isinstance(body["total"], int) and listed >= len(body["results"]) > 0
    assert body["loosely_related"] == 0 if mode == "keyword" else body["loosely_related"] > 0
    assert body["page"] == 1
    assert body["pages"] == max(1, -(-listed // 20))
    assert body["not_indexed"] == 0
    assert len(body["results"]) == min(20, listed)
    for item in body["results"]:
        assert_result_json(item, mode)
    strong = [item["strong"] for item in body["results"]]
    assert strong == sorted(strong, reverse=True) and sum(strong) == min(20, body["total"])
    scores = [item["score"] for item in body["results"] if item["strong"]]
    assert scores == sorted(scores, reverse=True)
    assert set(body["facets"]) == {"scope", "organizations", "categories"}
    assert body["facets"]["scope"] == ("all matches" if mode == "keyword" else "top candidates")
    for facet in body["facets"]["organizations"]:
        assert set(facet) == {"slug", "name", "count"}
        assert isinstance(facet["count"], int)


def test_hybrid_results_carry_both_ranks(client, catalogue):
    body = get_json(client, "/api/search?q=aggregating+model+updates+without+an+always-on+server")
    first = body["results"][0]
    assert first["title"].startswith(LIFL)
    assert (first["keyword_rank"], first["semantic_rank"]) == (1, 1)  # first by both
    assert first["strong"] and first["score"] == max(item["score"] for item in body["results"])


def test_results_without_a_query_have_no_score(client, catalogue):
    body = get_json(client, "/api/search")
    assert body["query"]["sort"] == "newest"
    assert body["total"] == 57 and len(body["results"]) == 20 and body["pages"] == 3
    for item in body["results"]:
        assert set(item) == RESULT_FIELDS
        assert_paper_json(item)
        assert (item["score"], item["keyword_rank"], item["semantic_rank"]) == (None, None, None)


def test_it_writes_the_organization_or_null(client, catalogue):
    body = get_json(client, "/api/search?q=DistAttention&mode=keyword")
    assert body["results"][0]["organization"] == {"slug": "acme", "name": "Acme Research"}
    assert body["results"][0]["published"] == "2024-01-05"
    assert body["results"][0]["authors_count"] == 13
    polca = get_json(client, "/api/search?q=POLCA&mode=keyword")["results"][0]
    assert polca["organization"] is None


def test_undated_papers_have_a_null_date(client, catalogue):
    body = get_json(client, "/api/search?page=3")
    undated = [item for item in body["results"] if item["published"] is None]
    assert len(undated) == 3
    assert body["results"][-3:] == undated  # newest first, undated last


def test_the_query_echoes_the_canonical_state(client, catalogue):
    body = get_json(
        client,
        "/api/search?page=2&sort=upvotes&to=2025&from=2024-03&org=beta&org=acme&mode=keyword"
        "&q=++llm++serving&utm=1&cat=cs.LG",
    )
    assert body["query"] == {
        "q": "llm serving",
        "mode": "keyword",
        "org": ["acme", "beta"],
        "cat": ["cs.LG"],
        "from": "2024-03",
        "to": "2025",
        "like": [],
        "unlike": [],
        "as_of": None,
        "sort": "upvotes",
        "page": 2,
    }
    assert body["page"] == 2


def test_it_runs_the_same_search_as_the_page(client, catalogue):
    url = "q=long+context+inference&org=acme&from=2024"
    body = get_json(client, f"/api/search?{url}")
    page = client.get(f"/?{url}")
    assert page.status_code == 200
    assert [item["id"] for item in body["results"]] == [
        hit.paper.pk for hit in page.context["results"].hits
    ]
    assert body["total"] == page.context["results"].total


def test_the_api_is_not_redirected_to_a_canonical_url(client, catalogue):
    response = client.get("/api/search?mode=hybrid&page=1&q=kv")
    assert response.status_code == 200


def test_filters_apply(client, catalogue):
    body = get_json(client, "/api/search?org=acme&from=2024-06&sort=oldest")
    assert [item["title"].split(":")[0] for item in body["results"]] == ["InstInfer", "TokenRing"]
    assert body["total"] == 2
    assert {f["slug"]: f["count"] for f in body["facets"]["organizations"]}["acme"] == 2


def test_org_facets_ignore_the_org_filter(client, catalogue):
    body = get_json(client, "/api/search?org=acme")
    counts = {f["slug"]: f["count"] for f in body["facets"]["organizations"]}
    assert counts == {"acme": 4, "beta": 3, "microsoft": 1, "pekinguniversity": 1}
    assert {f["slug"]: f["name"] for f in body["facets"]["organizations"]}[
        "acme"
    ] == "Acme Research"


def test_a_page_past_the_end_is_empty_with_the_total(client, catalogue):
    body = get_json(client, "/api/search?page=4")
    assert (body["results"], body["total"], body["page"], body["pages"]) == ([], 57, 4, 3)


def test_it_reports_papers_not_yet_searchable_by_meaning(client, catalogue):
    target = paper(INFINITE)
    Paper.objects.filter(pk=target.pk).update(abstract="Rewritten. DistAttention.")
    body = get_json(client, "/api/search?q=DistAttention")
    assert body["not_indexed"] == 1
    first = body["results"][0]
    assert (first["id"], first["keyword_rank"], first["semantic_rank"]) == (target.pk, 1, None)


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("mode=fuzzy", {"mode"}),
        ("sort=random", {"sort"}),
        ("org=bad%20slug", {"org"}),
        ("from=2024-13", {"from"}),
        ("from=2024-02-30", {"from"}),
        ("to=2024-13-01", {"to"}),
        ("from=2025&to=2024", {"to"}),
        ("page=0", {"page"}),
        ("page=-1", {"page"}),
        ("page=abc", {"page"}),
        ("page=501", {"page"}),
        ("page=" + "9" * 5000, {"page"}),  # past Python's int-string limit of 4,300 digits
        ("q=" + "x" * 501, {"q"}),
        ("q=ok&mode=x&sort=y&from=2024-13&to=nope&page=0", {"mode", "sort", "from", "to", "page"}),
    ],
)
def test_an_invalid_parameter_is_a_400_with_errors_by_field(client, catalogue, query, fields):
    body = get_json(client, f"/api/search?{query}", status=400)
    assert set(body) == {"errors"}
    assert set(body["errors"]) == fields
    assert all(isinstance(message, str) and message for message in body["errors"].values())


def test_an_error_message_is_the_one_the_page_shows(client, catalogue):
    body = get_json(client, "/api/search?from=2024-13", status=400)
    assert body == {"errors": {"from": "Use a date like 2025, 2025-03 or 2025-03-14."}}


# --- /api/papers/<id> -------------------------------------------------------------------------


def test_the_paper_api_returns_the_paper_and_its_similar_papers(client, catalogue):
    target = paper(INFINITE)
    body = get_json(client, f"/api/papers/{target.pk}")
    assert set(body) == PAPER_FIELDS | {"similar", "cite"}
    assert_paper_json(body)
    assert body["id"] == target.pk
    assert body["title"] == target.title
    assert body["abstract"] == target.abstract
    assert body["organization"] == {"slug": "acme", "name": "Acme Research"}
    assert body["published"] == "2024-01-05"
    assert len(body["similar"]) == 10
    ids = [item["id"] for item in body["similar"]]
    assert target.pk not in ids and len(set(ids)) == 10
    for item in body["similar"]:
        assert set(item) == PAPER_FIELDS
        assert_paper_json(item)


def test_similar_papers_are_the_nearest_by_meaning(client, catalogue):
    from pgvector.django import CosineDistance

    target = paper(INFINITE)
    nearest = list(
        Paper.objects.exclude(pk=target.pk)
        .annotate(d=CosineDistance("embedding", target.embedding))
        .order_by("d", "pk")
        .values_list("pk", flat=True)[:10]
    )
    body = get_json(client, f"/api/papers/{target.pk}")
    assert [item["id"] for item in body["similar"]] == nearest


def test_a_paper_without_a_current_vector_has_no_similar_list(client, catalogue):
    target = paper(LIFL)
    Paper.objects.filter(pk=target.pk).update(abstract="Rewritten since it was embedded.")
    body = get_json(client, f"/api/papers/{target.pk}")
    assert body["similar"] is None
    assert body["abstract"] == "Rewritten since it was embedded."


def test_a_stale_paper_is_not_listed_as_similar(client, catalogue):
    target, stale = paper(INFINITE), paper("InstInfer")
    Paper.objects.filter(pk=stale.pk).update(title="InstInfer, renamed")
    body = get_json(client, f"/api/papers/{target.pk}")
    assert stale.pk not in [item["id"] for item in body["similar"]]
    assert len(body["similar"]) == 10


@pytest.mark.parametrize("pk", ["999999", "99999999999999999999999"])
def test_an_unknown_paper_is_a_404(client, catalogue, pk):
    response = client.get(f"/api/papers/{pk}")
    assert response.status_code == 404
    assert response.json() == {"errors": {"id": f"No paper with id {pk}."}}


def test_a_paper_id_must_be_a_number(client, catalogue):
    assert client.get("/api/papers/abc").status_code == 404


@pytest.mark.parametrize(
    ("query", "fallback"),
    [
        ("q=DistAttention", None),
        ("q=DistAtention&mode=keyword", "similar_titles"),
        ("q=%22quokka+serving+engines%22+-survey", "meaning"),
    ],
)
def test_it_says_when_results_are_not_exact_matches(client, demo_catalogue, query, fallback):
    assert client.get(f"/api/search?{query}").json()["fallback"] == fallback


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_the_api_offers_the_corrected_search_when_a_word_is_in_no_paper(client, catalogue, mode):
    body = get_json(client, f"/api/search?q=speculatve+decodng&mode={mode}")
    assert body["did_you_mean"]["q"] == "speculative decoding"
    assert body["did_you_mean"]["url"].startswith("http://testserver/?q=speculative+decoding")
    assert get_json(client, f"/api/search?q=kv+cache&mode={mode}")["did_you_mean"] is None


@pytest.mark.parametrize("path", ["/api/search", "/api/papers/1", "/feed.atom", "/"])
def test_a_method_other_than_get_is_refused_with_405(client, path):
    response = client.post(path, {"q": "x"})
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_an_unknown_api_address_answers_json(client, db):
    response = client.get("/api/papers/-1")
    assert response.status_code == 404
    assert "No API address" in response.json()["errors"]["path"]

"""search.engine.search on the demo catalogue with real embeddings: ranking, filters, sorting,
pagination, facets and papers not yet searchable by meaning."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.http import QueryDict
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from pgvector.django import CosineDistance

from papers.models import Paper, embedded_q
from search import engine
from search.engine import search
from search.sql import HIGHLIGHT_START, HIGHLIGHT_STOP
from search.state import SearchState
from tests.catalogue import (
    COMMUNITY,
    INFINITE,
    INSTINFER,
    LIFL,
    POLCA,
    THUNDER,
    XLLM,
    paper,
)


def run(query: str, **kwargs):
    state = SearchState.from_query(QueryDict(query))
    assert not state.errors, state.errors
    return search(state, **kwargs)


def titles(results) -> list[str]:
    return [hit.paper.title for hit in results.hits]


def ids(results) -> list[int]:
    return [hit.paper.pk for hit in results.hits]


def position(results, prefix: str) -> int | None:
    for i, hit in enumerate(results.hits, start=1):
        if hit.paper.title.startswith(prefix):
            return i
    return None


def keyword_matches(websearch: str) -> set[int]:
    """An independent oracle: papers whose tsvector matches, through the ORM."""
    query = SearchQuery(websearch, search_type="websearch", config="english")
    return set(Paper.objects.filter(search_vector=query).values_list("pk", flat=True))


@pytest.fixture
def leap_day_paper(catalogue) -> Paper:
    Paper.objects.filter(title__startswith="Decentralized Diffusion").update(
        published=date(2024, 2, 29)
    )
    return paper("Decentralized Diffusion")


# --- ranking ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["hybrid", "semantic"])
def test_a_paraphrase_finds_its_paper_in_the_top_three(catalogue, mode):
    results = run(f"q=aggregating+model+updates+without+an+always-on+server&mode={mode}")
    assert position(results, LIFL) <= 3


# Written from the abstracts with none of their words: the test checks that no stem is shared.
PARAPHRASES = [
    (
        POLCA,
        "squeezing more electricity hungry accelerator machines under a fixed electrical "
        "budget than nominally permitted",
    ),
    (COMMUNITY, "spotting friend circles in enormous online friendship webs on a notebook"),
]


def shared_stems(query: str, target: Paper) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array(SELECT unnest(tsvector_to_array(to_tsvector('english', %s)))"
            " INTERSECT SELECT unnest(tsvector_to_array(search_vector))) FROM papers_paper"
            " WHERE id = %s",
            [query, target.pk],
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize(("prefix", "query"), PARAPHRASES)
def test_a_paraphrase_with_no_shared_stems_finds_its_paper_by_meaning(catalogue, prefix, query):
    target = paper(prefix)
    assert shared_stems(query, target) == []
    assert keyword_matches(" OR ".join(query.split())).isdisjoint({target.pk})
    results = search(SearchState(q=query, mode="semantic"))
    assert position(results, prefix) <= 3


@pytest.mark.parametrize(("prefix", "query"), PARAPHRASES)
def test_a_paraphrase_with_no_shared_stems_finds_its_paper_in_hybrid_mode(catalogue, prefix, query):
    results = search(SearchState(q=query))
    found = position(results, prefix)
    assert found is not None
    assert found <= 3


def test_an_exact_term_finds_its_paper_first_in_keyword_mode(catalogue):
    results = run("q=DistAttention&mode=keyword")
    assert titles(results)[0].startswith(INFINITE)
    assert results.total == 1
    hit = results.hits[0]
    assert (hit.keyword_rank, hit.semantic_rank, hit.similar_title) == (1, None, False)
    assert not results.similar_titles
    marked = f"{HIGHLIGHT_START}DistAttention{HIGHLIGHT_STOP}"
    assert marked in hit.title_marked
    assert marked in hit.snippet_marked


def test_an_exact_term_comes_first_in_hybrid_mode_too(catalogue):
    results = run("q=DistAttention")
    assert titles(results)[0].startswith(INFINITE)
    assert results.hits[0].keyword_rank == 1


def test_a_quoted_phrase_with_an_exclusion_drops_the_excluded_papers(catalogue):
    with_surveys = run("q=%22KV+cache%22&mode=keyword")
    without = run("q=%22KV+cache%22+-survey&mode=keyword")
    assert set(ids(with_surveys)) == keyword_matches('"KV cache"')
    assert set(ids(without)) == keyword_matches('"KV cache" -survey')
    assert any("survey" in (p.title + p.abstract).lower() for p in _papers(with_surveys))
    assert without.hits
    for hit in without.hits:
        text = (hit.paper.title + " " + hit.paper.abstract).lower()
        assert "survey" not in text
        assert "kv cache" in text or "kv-cache" in text
    assert without.total == with_surveys.total - 1


def test_typed_syntax_binds_the_search_by_meaning_too(catalogue):
    """Hybrid ranks only the papers that match what was typed; no mode shows an excluded word."""
    hybrid = run("q=%22KV+cache%22+-survey")
    assert set(ids(hybrid)) == keyword_matches('"KV cache" -survey')
    assert all(hit.keyword_rank is not None for hit in hybrid.hits)
    assert not hybrid.meaning_fallback

    meaning = run("q=%22KV+cache%22+-survey&mode=semantic")
    surveys = keyword_matches("survey")
    assert surveys and meaning.hits
    page_2 = run("q=%22KV+cache%22+-survey&mode=semantic&page=2")
    assert not surveys & (set(ids(meaning)) | set(ids(page_2)))
    assert meaning.listed == Paper.objects.filter(embedded_q()).count() - len(surveys)


def test_when_nothing_matches_the_typed_syntax_hybrid_falls_back_to_meaning(catalogue):
    results = run("q=%22serverless+quokka+aggregation%22+-survey")
    assert not keyword_matches('"serverless quokka aggregation"')
    assert results.meaning_fallback
    assert position(results, LIFL) is not None and position(results, LIFL) <= 3
    assert not keyword_matches("survey") & set(ids(results))


def _papers(results) -> list[Paper]:
    return [hit.paper for hit in results.hits]


def test_or_matches_either_term(catalogue):
    results = run("q=DistAttention+OR+InstInfer&mode=keyword")
    assert results.total == 2
    assert {t.split(":")[0] for t in titles(results)} == {INFINITE, INSTINFER}


def test_plain_words_match_any_word_and_rank_the_paper_with_most_of_them_first(catalogue):
    results = run("q=serverless+federated+aggregation&mode=keyword")
    assert titles(results)[0].startswith(LIFL)
    assert set(ids(results)) == keyword_matches("serverless OR federated OR aggregation")


def test_a_typo_falls_back_to_similar_titles(catalogue):
    results = run("q=DistAtention&mode=keyword")
    assert results.similar_titles
    assert titles(results)[0].startswith(INFINITE)
    assert results.hits[0].similar_title
    assert results.hits[0].keyword_rank == 1


def test_a_typo_in_hybrid_mode_still_puts_the_paper_first(catalogue):
    results = run("q=DistAtention")
    assert results.similar_titles
    assert titles(results)[0].startswith(INFINITE)


def test_similar_titles_respect_filters(catalogue):
    results = run("q=DistAtention&mode=keyword&org=beta")
    assert INFINITE not in " ".join(titles(results))
    assert all(hit.paper.organization.slug == "beta" for hit in results.hits)


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_words_found_outside_the_filters_are_no_typo(catalogue, mode):
    """Infinite-LLM (acme) has DistAttention: within beta nothing has it, and no title that
    merely looks like the word is offered as a correction (nor searched for)."""
    with CaptureQueriesContext(connection) as captured:
        results = run(f"q=DistAttention&mode={mode}&org=beta")
    assert not results.similar_titles
    assert not any(hit.keyword_rank for hit in results.hits)
    assert not any("word_similarity" in q["sql"] for q in captured)


def test_a_query_with_matches_does_not_fall_back_to_similar_titles(catalogue):
    results = run("q=serving&mode=keyword")
    assert results.hits
    assert not results.similar_titles
    assert not any(hit.similar_title for hit in results.hits)


def test_keyword_mode_says_nothing_matches_a_made_up_word(catalogue):
    results = run("q=qwzxjv&mode=keyword")
    assert (results.hits, results.total, results.similar_titles) == ([], 0, False)


def test_hybrid_hits_carry_both_ranks_and_the_fused_score(catalogue):
    results = run("q=aggregating+model+updates+without+an+always-on+server")
    both = [hit for hit in results.hits if hit.keyword_rank and hit.semantic_rank]
    assert both, "expected papers found both by words and by meaning"
    for hit in results.hits:
        assert hit.keyword_rank or hit.semantic_rank
        assert 0 <= hit.score <= 1  # convex fusion: 0.7 x keyword share + 0.3 x rescaled meaning
    assert results.hits[0].title_marked and (
        results.hits[0].keyword_rank,
        results.hits[0].semantic_rank,
    ) == (1, 1)
    scores = [hit.score for hit in results.hits if hit.strong]
    assert scores == sorted(scores, reverse=True)
    keyword_ranks = [hit.keyword_rank for hit in results.hits if hit.keyword_rank]
    assert len(keyword_ranks) == len(set(keyword_ranks))


@override_settings(SEARCH_FUSION="rrf", SEARCH_KEYWORD_WEIGHT=1.0, SEARCH_SEMANTIC_WEIGHT=1.0)
def test_rank_fusion_is_still_available_as_a_setting(catalogue):
    results = run("q=aggregating+model+updates+without+an+always-on+server")
    for hit in results.hits:
        expected = sum(1 / (60 + r) for r in (hit.keyword_rank, hit.semantic_rank) if r)
        assert hit.score == pytest.approx(expected)


def test_semantic_hits_have_no_keyword_rank_and_keyword_hits_no_semantic_rank(catalogue):
    semantic = run("q=long+context+inference&mode=semantic")
    keyword = run("q=long+context+inference&mode=keyword")
    assert semantic.hits and keyword.hits
    assert all(h.keyword_rank is None and h.semantic_rank for h in semantic.hits)
    assert [h.semantic_rank for h in semantic.hits] == list(range(1, len(semantic.hits) + 1))
    assert all(h.semantic_rank is None and h.keyword_rank for h in keyword.hits)
    assert [h.keyword_rank for h in keyword.hits] == list(range(1, len(keyword.hits) + 1))
    assert semantic.hits[0].title_marked is None  # no words to highlight by meaning alone


def test_semantic_ranks_follow_the_exact_cosine_distance(catalogue):
    query = "long context inference"
    results = run("q=long+context+inference&mode=semantic")
    from papers.embeddings import get_embedder

    vector = get_embedder().encode_query(query)
    exact = list(
        Paper.objects.annotate(d=CosineDistance("embedding", list(vector)))
        .order_by("d", "pk")
        .values_list("pk", flat=True)[:10]
    )
    assert ids(results)[:10] == exact


@pytest.mark.parametrize(
    "q",
    [
        "the and of",
        "!!!",
        "-",
        '"',
        "OR OR",
        "&&",
        "a:* | b",
        "(\\",
        "'; drop table papers_paper; --",
        "<->",
        "💥",
    ],
)
@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_stopwords_and_punctuation_do_not_fail(catalogue, q, mode):
    state = SearchState.from_query({"q": q, "mode": mode})
    results = search(state)
    assert results.listed >= len(results.hits)
    if mode == "keyword" and q in ("the and of", "!!!", "-", "&&"):
        assert results.total == 0


def test_the_query_embedding_is_cached(catalogue):
    from papers.embeddings import get_embedder

    run("q=a+query+to+cache&mode=semantic")
    before = get_embedder().encode_query.cache_info()
    run("q=a+query+to+cache&mode=semantic&page=2")
    after = get_embedder().encode_query.cache_info()
    assert after.misses == before.misses
    assert after.hits > before.hits


# Round trips of a search with an organization selected, whatever the catalogue's size: the
# per-paper fields that changed (one statement, usually nothing), the organization's id (filters
# are applied in numpy: to the keyword side, and to choose how meaning ranks), the query's
# postings, the page, and the facets without the organization filter; a search by meaning also
# forbids sequential scans around its statements (search.engine._through_the_graph). Without an
# organization, the facets come with the page. Each also sets and resets its statement timeout
# (ops.statement_timeout): STATEMENT_TIMEOUT_TRIPS more.
STATEMENT_TIMEOUT_TRIPS = 2
ROUND_TRIPS = {
    "": (4, 3),  # browsing: changes, [org], page rows, facets
    "q=kv+cache": (7, 5),  # hybrid: changes, [org], postings, seq scan off, page, [facets], on
    "q=kv+cache&mode=keyword": (5, 4),  # changes, [org], postings, page rows, facets
    "q=kv+cache&mode=semantic": (6, 4),  # changes, [org], seq scan off, page, [facets], on
}


@pytest.mark.parametrize("query", list(ROUND_TRIPS))
def test_a_search_takes_a_fixed_few_round_trips(catalogue, query):
    run(query)  # warm up: the query vector is cached after this
    with CaptureQueriesContext(connection) as queries:
        run(query + "&org=acme&from=2024")
    assert len(queries) == ROUND_TRIPS[query][0] + STATEMENT_TIMEOUT_TRIPS


@pytest.mark.parametrize("query", ["", "q=kv+cache", "q=kv+cache&mode=keyword&from=2024"])
def test_without_an_organization_selected_facets_come_with_the_page(catalogue, query):
    """In hybrid the facets' candidate set is then the page's own, so one query brings both;
    the counts are those the separate facet query gives when an organization is selected."""
    run(query)  # warm up: the query vector is cached after this
    with CaptureQueriesContext(connection) as queries:
        inline = run(query)
    assert (
        len(queries) == ROUND_TRIPS[query.removesuffix("&from=2024")][1] + STATEMENT_TIMEOUT_TRIPS
    )
    counts = {f.slug: f.count for f in inline.facets}
    assert counts["acme"] > 0 and not any(f.selected for f in inline.facets)
    separate = run(query + "&org=acme")
    assert {f.slug: f.count for f in separate.facets} == counts
    assert inline.not_indexed == separate.not_indexed == 0


# --- filters ----------------------------------------------------------------------------------


def test_it_filters_by_one_org(catalogue):
    results = run("org=acme")
    assert results.total == 4
    assert {h.paper.organization.slug for h in results.hits} == {"acme"}


def test_it_filters_by_several_orgs(catalogue):
    results = run("org=acme&org=beta")
    assert results.total == 7
    assert {h.paper.organization.slug for h in results.hits} == {"acme", "beta"}


def test_it_ignores_unknown_org(catalogue):
    results = run("org=no-such-org")
    assert (results.hits, results.total) == ([], 0)
    facet = next(f for f in results.facets if f.slug == "no-such-org")
    assert (facet.count, facet.selected) == (0, True)


def test_an_unknown_org_next_to_a_known_one_keeps_the_known_ones_papers(catalogue):
    assert run("org=acme&org=no-such-org").total == 4


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_the_org_filter_applies_in_every_mode(catalogue, mode):
    results = run(f"q=long+context+LLM+inference&mode={mode}&org=acme")
    assert results.hits
    assert {h.paper.organization.slug for h in results.hits} == {"acme"}
    if mode == "keyword":
        acme = set(Paper.objects.filter(organization__slug="acme").values_list("pk", flat=True))
        matches = keyword_matches("long OR context OR LLM OR inference") & acme
        assert set(ids(results)) <= matches  # papers with too little of the query drop out
    else:
        assert results.listed == 4  # every acme paper is a candidate by meaning


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("from=2025", date(2025, 1, 1), None),
        ("from=2025-10", date(2025, 10, 1), None),
        ("from=2025-10-16", date(2025, 10, 16), None),
        ("to=2023", None, date(2023, 12, 31)),
        ("to=2023-12", None, date(2023, 12, 31)),
        ("to=2023-12-19", None, date(2023, 12, 19)),
        ("from=2024&to=2024", date(2024, 1, 1), date(2024, 12, 31)),
        ("from=2024-05&to=2024-09-08", date(2024, 5, 1), date(2024, 9, 8)),
    ],
)
def test_it_filters_by_date_inclusively(catalogue, query, start, end):
    results = run(query)
    expected = Paper.objects.all()
    if start:
        expected = expected.filter(published__gte=start)
    if end:
        expected = expected.filter(published__lte=end)
    assert results.total == expected.count() > 0
    every = set(ids(results)) | set(ids(run(query + "&page=2"))) | set(ids(run(query + "&page=3")))
    assert every == set(expected.values_list("pk", flat=True))
    for hit in results.hits:
        assert hit.paper.published is not None
        assert (start or date.min) <= hit.paper.published <= (end or date.max)


@pytest.mark.parametrize(
    "query",
    ["from=1900", "to=2100", "from=1900&to=2100", "q=LLM&from=1900", "q=LLM&mode=semantic&to=2100"],
)
def test_papers_without_a_date_are_outside_every_date_filter(catalogue, query):
    undated = set(Paper.objects.filter(published__isnull=True).values_list("pk", flat=True))
    assert len(undated) == 3
    results = run(query)
    assert results.listed == 54
    assert undated.isdisjoint(ids(results))
    assert undated.isdisjoint(ids(run(query + "&page=3")))


def test_papers_without_a_date_are_found_without_a_date_filter(catalogue):
    undated = set(Paper.objects.filter(published__isnull=True).values_list("pk", flat=True))
    assert undated <= set(ids(run("page=3")))


def test_to_a_month_covers_its_last_day_in_a_leap_year(leap_day_paper):
    assert leap_day_paper.pk in ids(run("to=2024-02&from=2024-02"))
    assert leap_day_paper.pk in ids(run("from=2024-02-29&to=2024-02-29"))
    assert leap_day_paper.pk not in ids(run("from=2024-02&to=2024-02-28"))
    assert leap_day_paper.pk not in ids(run("from=2024-03"))
    assert leap_day_paper.pk in ids(run("to=2024-02"))


def test_filters_combine(catalogue):
    results = run("q=%22KV+cache%22&mode=keyword&org=acme&org=beta&from=2024-06")
    expected = {
        p.pk
        for p in Paper.objects.filter(
            organization__slug__in=["acme", "beta"], published__gte=date(2024, 6, 1)
        )
    } & keyword_matches('"KV cache"')
    assert set(ids(results)) == expected
    assert {t.split(":")[0] for t in titles(results)} == {INSTINFER, XLLM, THUNDER}


@pytest.mark.parametrize("mode", ["hybrid", "semantic"])
def test_filters_combine_by_meaning(catalogue, mode):
    results = run(f"q=serving+large+models&mode={mode}&org=acme&org=beta&to=2024-12")
    expected = set(
        Paper.objects.filter(
            organization__slug__in=["acme", "beta"], published__lte=date(2024, 12, 31)
        ).values_list("pk", flat=True)
    )
    assert set(ids(results)) == expected
    assert len(expected) == 4  # Infinite-LLM, InstInfer, TokenRing, LIFL


def test_a_filtered_search_by_meaning_still_returns_a_full_page(catalogue):
    # A small ef_search makes the HNSW scan stop early; iterative scans must keep going until
    # enough rows pass the filter.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.ef_search = 5")
        cursor.execute("SET LOCAL enable_seqscan = off")
    in_range = Paper.objects.filter(published__gte=date(2024, 6, 1)).count()
    assert in_range > 20
    results = run("q=distributed+training&mode=semantic&from=2024-06")
    assert len(results.hits) == 20
    assert results.listed == in_range
    assert all(h.paper.published >= date(2024, 6, 1) for h in results.hits)


def test_a_filtered_hybrid_search_fills_its_page_from_both_lists(catalogue):
    results = run("q=DistAttention&from=2024")
    assert len(results.hits) == 20
    assert titles(results)[0].startswith(INFINITE)


# --- sorting ----------------------------------------------------------------------------------


def _all_pages(query: str) -> list[Paper]:
    papers: list[Paper] = []
    for page in range(1, 6):
        results = run(f"{query}&page={page}" if query else f"page={page}")
        if not results.hits:
            break
        papers += _papers(results)
    return papers


def _dates_then_undated(papers: list[Paper], *, reverse: bool) -> None:
    dated = [p.published for p in papers if p.published]
    assert dated == sorted(dated, reverse=reverse)
    first_undated = next((i for i, p in enumerate(papers) if p.published is None), len(papers))
    assert all(p.published is None for p in papers[first_undated:])


@pytest.mark.parametrize("query", ["", "q=LLM+serving&mode=keyword", "q=LLM+serving"])
def test_newest_puts_the_latest_papers_first_and_undated_last(catalogue, query):
    papers = _all_pages(f"{query}&sort=newest" if query else "sort=newest")
    _dates_then_undated(papers, reverse=True)
    if query == "q=LLM+serving":  # by meaning, a date sort lists the strong matches only
        by_relevance = _all_pages(query)
        assert {p.pk for p in papers} == {p.pk for p in by_relevance if p in _strong(query)}
        return
    latest = Paper.objects.filter(published__isnull=False).latest("published")
    assert papers[0].published == latest.published


def _strong(query: str) -> set[Paper]:
    first = run(query)
    return {h.paper for p in range(1, first.pages + 1) for h in run(f"{query}&page={p}").hits
            if h.strong}  # fmt: skip


def test_newest_is_the_default_without_a_query(catalogue):
    assert ids(run("")) == ids(run("sort=newest"))
    assert titles(run(""))[0].startswith("The Science Data Lake")


def test_oldest_puts_the_earliest_papers_first_and_undated_last(catalogue):
    papers = _all_pages("sort=oldest")
    assert len(papers) == 57
    _dates_then_undated(papers, reverse=False)
    assert papers[0].title.startswith("Real-Time Community Detection")  # 2016


@pytest.mark.parametrize("query", ["", "q=LLM&mode=keyword"])
def test_upvotes_puts_the_most_upvoted_first(catalogue, query):
    papers = _all_pages(f"{query}&sort=upvotes" if query else "sort=upvotes")
    upvotes = [p.upvotes for p in papers]
    assert upvotes == sorted(upvotes, reverse=True)
    assert papers[0].title.startswith("TPI-LLM")  # 8 upvotes, the most


def test_relevance_orders_by_score(catalogue):
    results = run("q=KV+cache+offloading&mode=keyword")
    scores = [h.score for h in results.hits]
    assert scores == sorted(scores, reverse=True)


def test_a_sort_keeps_the_same_set_of_matches(catalogue):
    base = set(ids(run("q=%22KV+cache%22&mode=keyword")))
    for sort in ("newest", "oldest", "upvotes"):
        assert set(ids(run(f"q=%22KV+cache%22&mode=keyword&sort={sort}"))) == base


# --- pagination -------------------------------------------------------------------------------


def test_an_empty_query_pages_through_every_paper(catalogue):
    pages = [run(f"page={n}") for n in (1, 2, 3)]
    assert [len(p.hits) for p in pages] == [20, 20, 17]
    assert [p.total for p in pages] == [57, 57, 57]
    assert [p.pages for p in pages] == [3, 3, 3]
    assert [p.has_next for p in pages] == [True, True, False]
    assert [p.first_index for p in pages] == [1, 21, 41]
    every = [pk for p in pages for pk in ids(p)]
    assert len(every) == len(set(every)) == 57


@pytest.mark.parametrize(
    "query", ["page=4", "page=500", "q=LLM&page=9", "q=LLM&mode=semantic&page=4"]
)
def test_a_page_past_the_end_has_no_hits_but_knows_the_total(catalogue, query):
    results = run(query)
    assert results.hits == []
    assert results.listed == 57


def test_a_page_past_the_end_of_a_keyword_search_knows_the_total(catalogue):
    expected = len(keyword_matches('"KV cache"'))
    results = run("q=%22KV+cache%22&mode=keyword&page=2")
    assert (results.hits, results.total) == ([], expected)


def test_a_page_past_the_end_of_a_filtered_search_knows_the_total(catalogue):
    results = run("org=acme&page=2")
    assert (results.hits, results.total) == ([], 4)


def test_nothing_found_has_a_total_of_zero(catalogue):
    results = run("org=acme&from=2030")
    assert (results.hits, results.total, results.pages) == ([], 0, 1)


def test_pages_of_a_ranked_search_do_not_overlap(catalogue):
    seen: list[int] = []
    for page in (1, 2, 3):
        seen += ids(run(f"q=distributed+LLM+training&page={page}"))
    assert len(seen) == len(set(seen)) == 57


def test_ranks_continue_across_pages(catalogue):
    second = run("q=LLM&mode=semantic&page=2")
    assert [h.semantic_rank for h in second.hits] == list(range(21, 41))


# --- facets -----------------------------------------------------------------------------------


def _facets(results) -> dict[str, int]:
    return {f.slug: f.count for f in results.facets}


def test_facets_count_every_organization_of_the_matches(catalogue):
    results = run("")
    assert _facets(results) == {"acme": 4, "beta": 3, "microsoft": 1, "pekinguniversity": 1}
    assert results.exhaustive
    assert [f.count for f in results.facets] == sorted(
        (f.count for f in results.facets), reverse=True
    )
    assert {f.slug: f.name for f in results.facets}["acme"] == "Acme Research"
    assert not any(f.selected for f in results.facets)


def test_the_home_pages_facets_follow_a_change_to_the_catalogue(catalogue):
    """A browse of every paper keeps its facets with the per-paper table; a write makes a new
    table, so they are counted again."""
    assert _facets(run(""))["beta"] == 3
    paper = Paper.objects.filter(organization__slug="acme").order_by("pk").first()
    paper.organization = Paper.objects.filter(organization__slug="beta").first().organization
    paper.save()
    results = run("")
    assert _facets(results)["beta"] == 4 and _facets(results)["acme"] == 3
    assert sum(results.month_counts.values()) + results.undated == results.total
    beta = run("org=beta")  # its organization facet is every paper's; its months are beta's
    assert _facets(beta) == _facets(results) and beta.total == 4
    assert sum(beta.month_counts.values()) + beta.undated == 4


def test_org_facet_counts_ignore_the_org_filter_itself(catalogue):
    results = run("org=acme")
    assert _facets(results) == {"acme": 4, "beta": 3, "microsoft": 1, "pekinguniversity": 1}
    assert [f.slug for f in results.facets if f.selected] == ["acme"]


def test_facets_follow_the_query_and_the_date_filter(catalogue):
    results = run("q=%22KV+cache%22&mode=keyword&from=2025&org=beta")
    expected: dict[str, int] = {}
    for pk in keyword_matches('"KV cache"'):
        p = Paper.objects.select_related("organization").get(pk=pk)
        if p.organization and p.published and p.published >= date(2025, 1, 1):
            expected[p.organization.slug] = expected.get(p.organization.slug, 0) + 1
    assert _facets(results) == expected == {"beta": 2}
    assert results.exhaustive


def test_facets_of_a_search_by_meaning_count_the_papers_listed(catalogue):
    for mode in ("hybrid", "semantic"):
        results = run(f"q=KV+cache&mode={mode}")
        assert not results.exhaustive
        assert _facets(results) == {"acme": 4, "beta": 3, "microsoft": 1, "pekinguniversity": 1}
        newest = run(f"q=KV+cache&mode={mode}&sort=newest")  # lists the strong matches only
        by_date, by_relevance = _facets(newest), _facets(results)
        assert all(by_date[slug] <= by_relevance[slug] for slug in by_date)
        assert sum(by_date.values()) < sum(by_relevance.values())


def test_facets_and_no_org_add_up_to_the_total(catalogue):
    results = run("q=LLM&mode=keyword")
    no_org = keyword_matches("LLM") & set(
        Paper.objects.filter(organization__isnull=True).values_list("pk", flat=True)
    )
    assert sum(_facets(results).values()) + len(no_org) == results.total


def test_a_selected_org_without_matches_stays_in_the_facets(catalogue):
    results = run("q=DistAttention&mode=keyword&org=beta")
    assert results.total == 0
    beta = next(f for f in results.facets if f.slug == "beta")
    assert (beta.name, beta.count, beta.selected) == ("Beta Institute", 0, True)
    assert _facets(results)["acme"] == 1


def test_facets_can_be_skipped(catalogue):
    results = run("q=LLM", with_facets=False)
    assert results.facets == []
    assert results.hits


# --- papers not yet searchable by meaning -----------------------------------------------------


@pytest.fixture
def stale_paper(catalogue) -> Paper:
    target = paper(INFINITE)
    Paper.objects.filter(pk=target.pk).update(abstract=target.abstract + " Edited since.")
    target.refresh_from_db()
    assert target.embedding_state == "stale"
    return target


def test_it_counts_papers_without_a_current_vector(stale_paper):
    for query in ("q=DistAttention", "q=DistAttention&mode=semantic", "", "q=qwzxjv&mode=keyword"):
        assert run(query).not_indexed == 1, query


def test_it_counts_new_papers_and_other_models_vectors_as_not_indexed(catalogue):
    Paper.objects.create(title="A new paper", abstract="Not embedded yet.", key="new", source="t")
    Paper.objects.filter(title__startswith=LIFL).update(embedding_model="another-model")
    assert run("q=serverless").not_indexed == 2


def test_nothing_is_not_indexed_when_every_paper_has_a_vector(catalogue):
    assert run("q=serverless").not_indexed == 0


def test_hybrid_still_finds_a_stale_paper_by_its_words(stale_paper):
    results = run("q=DistAttention")
    hit = results.hits[0]
    assert hit.paper.pk == stale_paper.pk
    assert (hit.keyword_rank, hit.semantic_rank) == (1, None)
    assert results.listed == 57  # the other 56 by meaning


def test_a_search_by_meaning_leaves_out_a_stale_paper(stale_paper):
    results = run("q=distributed+attention+over+a+data+center&mode=semantic")
    assert results.listed == 56
    assert stale_paper.pk not in ids(results)


@pytest.mark.parametrize("mode", ["hybrid", "semantic"])
def test_gibberish_matches_nothing_by_meaning(catalogue, mode):
    """The nearest paper to a nonsense query is still some paper; it must not count as a match
    (unless a word of the query matched: then the list by meaning fills the page after it)."""
    assert run(f"q=zzzqqq+xyzzy&mode={mode}").total == 0
    assert run(f"q=weather+forecast&mode={mode}").total == 0
    assert run(f"q=KV+cache+zzqx&mode={mode}").listed > 20  # a real query with a stray word


def test_an_invented_name_that_matches_still_fills_the_page_by_meaning(catalogue):
    results = run("q=DistAttention")
    assert titles(results)[0].startswith(INFINITE)
    assert len(results.hits) == 20
    assert run("q=DistAttention&mode=semantic").total == 0  # by meaning alone, it is noise


def test_a_stale_paper_is_still_listed_without_a_query(stale_paper):
    assert run("").total == 57


@pytest.mark.parametrize("query", ["q=kv+cache&mode=semantic&org=acme", "q=memory&from=2024"])
def test_meaning_ranks_the_same_papers_by_id_or_through_the_graph(catalogue, query, monkeypatch):
    """Few papers left by the filters are ranked exactly by id; many, through HNSW with the
    filters applied as it walks (search.sql.FusedSQL._scope): the same list either way."""
    exact = [hit.paper.pk for hit in run(query).hits]
    monkeypatch.setattr(engine, "EXACT_LIMIT", 0)
    assert [hit.paper.pk for hit in run(query).hits] == exact
    assert exact


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "keyword"])
def test_ranked_ids_are_the_pages_order(catalogue, mode):
    """The evaluation reads rankings through ranked_ids: they must be the page's own."""
    state = SearchState.from_query(QueryDict(f"q=kv+cache+offloading&mode={mode}"))
    assert engine.ranked_ids(state, 20) == [hit.paper.pk for hit in search(state).hits]

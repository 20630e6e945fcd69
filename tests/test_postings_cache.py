"""Postings kept in the process (search.postings_cache): a search that repeats words reads no
postings rows again and ranks the same; a write that makes a new segment is still seen; and a
limit of 0 keeps nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import QueryDict
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from papers import keyword_index
from papers.models import Paper
from search import postings_cache
from search.engine import search
from search.state import SearchState


def ranked(query: str) -> list[tuple[int, float | None]]:
    results = search(SearchState.from_query(QueryDict(query)))
    return [(hit.paper.pk, hit.score) for hit in results.hits]


def rows_read(query: str) -> tuple[list, int]:
    """The ranking, and how many times the search read postings rows from the database."""
    with CaptureQueriesContext(connection) as captured:
        found = ranked(query)
    return found, sum("AS wanted(lexeme, segment_id)" in q["sql"] for q in captured)


@pytest.fixture(autouse=True)
def _empty_cache():
    postings_cache.clear()
    yield
    postings_cache.clear()


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_words_searched_again_are_not_read_again(demo_catalogue, mode):
    first, reads = rows_read(f"q=kv+cache+offloading&mode={mode}")
    assert reads == 1 and first
    again, reads = rows_read(f"q=kv+cache+offloading&mode={mode}")
    assert reads == 0
    assert again == first
    # Another query sharing a word reads only its new word's rows.
    _, reads = rows_read(f"q=cache+memory&mode={mode}")
    assert reads == 1


def test_a_new_segment_is_read_and_ranks_a_new_paper(demo_catalogue):
    assert rows_read("q=kv+cache&mode=keyword")[0]
    new = Paper.objects.create(
        title="KV cache quokka", abstract="A kv cache for quokkas, cache upon cache.", key="q:1"
    )
    keyword_index.flush_all()  # the paper's postings go into a segment of their own
    found, reads = rows_read("q=kv+cache&mode=keyword")
    assert reads == 1  # the new segment's rows only
    assert new.pk in [pk for pk, _ in found]


@override_settings(KEYWORD_POSTINGS_CACHE_MB=0)
def test_a_limit_of_zero_keeps_nothing(demo_catalogue):
    rows_read("q=kv+cache&mode=keyword")
    assert rows_read("q=kv+cache&mode=keyword")[1] == 1

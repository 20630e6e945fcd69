"""How typed text becomes full-text queries (search.query_text)."""

from __future__ import annotations

import pytest

from search.query_text import TextQuery, parse_text_query


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (
            "serverless federated aggregation",
            TextQuery(
                "serverless OR federated OR aggregation", "serverless federated aggregation", False
            ),
        ),
        ("llm or gpu", TextQuery("llm OR gpu", "llm gpu", False)),  # lower-case "or" is a word
        ('"KV cache" -survey', TextQuery('"KV cache" -survey', "KV cache", True, "survey")),
        (
            'kv -"long context" -survey',
            TextQuery('kv -"long context" -survey', "kv", True, '"long context" OR survey'),
        ),
        (
            "DistAttention OR InstInfer",
            TextQuery("DistAttention OR InstInfer", "DistAttention OR InstInfer", True),
        ),
        # A minus before a number is a list ("E2f-1, -2, -3"), not an exclusion.
        ("E2f-1, -2, -3 TKO", TextQuery("E2f OR 1 OR 2 OR 3 OR TKO", "E2f 1 2 3 TKO", False)),
        ("state-of-the-art", TextQuery("state OR of OR the OR art", "state of the art", False)),
    ],
)
def test_typed_text_becomes_a_match_query_rank_words_and_exclusions(typed, expected):
    assert parse_text_query(typed) == expected

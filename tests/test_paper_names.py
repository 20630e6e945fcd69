"""A paper's name finds it: a query that is, or holds, the name of a paper of the demo listing
(the part of its title before ':' or ' -- ') puts that paper first in every mode."""

from __future__ import annotations

import pytest

from papers.ingest.daily_papers import parse_file
from search.engine import search
from search.names import plain_query_keys, query_keys
from search.state import SearchState
from tests.catalogue import LISTING_YEAR, SEED, paper

MODES = ("keyword", "semantic", "hybrid")


def _names() -> list[tuple[str, str]]:
    """(name, title) of every demo title that has a name, read here independently of the app's
    rule (papers/migrations/0011_paper_name_keys.py)."""
    found = []
    for record in parse_file(SEED, year=LISTING_YEAR):
        for separator in (":", " -- "):
            name, sep, _ = record.title.partition(separator)
            if sep:
                found.append((name.strip(), record.title))
                break
    return found


NAMES = _names()


def first(q: str, mode: str, **params) -> str | None:
    state = SearchState.from_query({"q": q, "mode": mode, **params})
    assert not state.errors, state.errors
    hits = search(state, with_facets=False).hits
    return hits[0].paper.title if hits else None


def test_the_demo_listing_has_names_to_test():
    assert len(NAMES) >= 35
    assert ("P/D-Serve", next(t for n, t in NAMES if n == "P/D-Serve")) in NAMES


@pytest.mark.parametrize(("name", "title"), NAMES, ids=[n for n, _ in NAMES])
def test_a_query_that_is_or_holds_a_papers_name_puts_it_first_in_every_mode(
    demo_catalogue, name, title
):
    for q in (name, name.lower(), f"what is {name} about"):
        for mode in MODES:
            assert first(q, mode) == title, (q, mode)


def test_a_name_typed_without_its_punctuation_finds_the_paper(demo_catalogue):
    for q in ("PD-Serve", "pd serve", "ufo3", "hexgen text2sql"):
        for mode in MODES:
            assert first(q, mode).split(":")[0] in ("P/D-Serve", "UFO^3", "HEXGEN-TEXT2SQL"), q


def test_a_name_like_first_word_of_a_title_without_a_colon_is_a_name(demo_catalogue):
    for mode in MODES:
        assert first("xLLM", mode) == "xLLM Technical Report"


def test_a_named_paper_outside_the_filters_stays_out(demo_catalogue):
    published = paper("P/D-Serve").published
    before = (published.replace(day=1) if published.day > 1 else published).isoformat()
    for mode in MODES:
        assert first("P/D-Serve", mode, to=before) != paper("P/D-Serve").title


def test_typed_syntax_names_no_paper():
    assert "pdserve" in plain_query_keys("P/D-Serve")
    # Typed syntax says exactly what must match: a name in it pins nothing.
    assert plain_query_keys("P/D-Serve -survey") == ()
    assert plain_query_keys('"P/D-Serve"') == ()


@pytest.mark.parametrize(
    ("q", "holds", "lacks"),
    [
        ("P/D-Serve", {"pdserve", "dserve"}, set()),
        ("matrix", {"matrix"}, set()),  # one ordinary word, alone: it may be a name
        ("Matrix for synthetic data", {"matrix", "matrixfor"}, set()),  # typed as a name
        ("matrix multiplication", {"matrixmultiplication"}, {"matrix", "multiplication"}),
        ("co2 of training", {"co2"}, {"training"}),  # a digit makes a word name-like
    ],
)
def test_the_query_offers_runs_of_words_as_names(q, holds, lacks):
    keys = set(query_keys(q))
    assert holds <= keys
    assert not (lacks & keys)

"""A paper's name finds it: a query that is the name of a paper of the demo listing (the part of
its title before ':' or ' -- '), or holds a name spelled like one, puts that paper first in every
mode."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from papers.ingest.daily_papers import parse_file
from papers.models import Paper
from search.engine import search
from search.names import plain_query_keys, query_keys
from search.state import SearchState
from tests.catalogue import LISTING_YEAR, SEED, paper

MODES = ("keyword", "semantic", "hybrid")
# A digit, a capital inside a word, or / ^ + & between letters: "P/D-Serve", "LIFL", "CO2".
SPELLED_LIKE_A_NAME = re.compile(r"\d|\S[A-Z]|\w[/^+&]\w")


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
def test_a_query_that_is_a_papers_name_puts_it_first_in_every_mode(demo_catalogue, name, title):
    queries = [name, name.lower()]
    if SPELLED_LIKE_A_NAME.search(name):
        queries.append(f"what is {name} about")
    for q in queries:
        for mode in MODES:
            assert first(q, mode) == title, (q, mode)


def test_a_name_typed_without_its_punctuation_finds_the_paper(demo_catalogue):
    for q in ("PD-Serve", "pd serve", "ufo3", "hexgen text2sql"):
        for mode in MODES:
            assert first(q, mode).split(":")[0] in ("P/D-Serve", "UFO^3", "HEXGEN-TEXT2SQL"), q


def test_a_name_like_first_word_of_a_title_without_a_colon_is_a_name(demo_catalogue):
    for mode in MODES:
        assert first("xLLM", mode) == "xLLM Technical Report"


def test_the_line_that_says_why_says_the_query_names_the_paper(demo_catalogue, client):
    """P/D-Serve shares only "serving" with its name, a common word: the reason it is first
    is its name, and the page and the API say so (and only of that paper)."""
    from search.templatetags.search_tags import why_matched

    for mode in MODES:
        hits = search(SearchState.from_query({"q": "P/D-Serve", "mode": mode})).hits
        assert hits[0].named and not any(h.named for h in hits[1:])
        why = why_matched(hits[0])
        assert "what you typed names it" in why and "too common" not in why
    body = client.get("/api/search", {"q": "P/D-Serve"}).json()
    assert [r["named"] for r in body["results"][:2]] == [True, False]
    assert not any(r["named"] for r in client.get("/api/search?q=serving").json()["results"])


@pytest.mark.parametrize(
    "q",
    [
        "2405.10968",
        "arXiv:2405.10968v2",
        "https://arxiv.org/abs/2405.10968",
        "arxiv.org/pdf/2405.10968v1.pdf",
    ],
)
def test_an_arxiv_id_or_link_finds_its_paper_in_every_mode(demo_catalogue, client, q):
    """A colleague's arXiv link pasted into the box: the paper of that id comes first, is named
    so, and the id is not "corrected" into words."""
    lifl = paper("LIFL")
    Paper.objects.filter(pk=lifl.pk).update(key="arxiv:2405.10968", source_id="2405.10968")
    for mode in MODES:
        hits = search(SearchState.from_query({"q": q, "mode": mode})).hits
        assert hits[0].paper.pk == lifl.pk and hits[0].named, (q, mode)
    body = client.get("/api/search", {"q": q}).json()
    assert body["results"][0]["id"] == lifl.pk and body["did_you_mean"] is None
    assert first("2405.10969", "hybrid") != lifl.title  # another id names no paper


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
    ("title", "keys"),
    [
        ("P/D-Serve: Serving at Scale", ["=pdserve", "pdserve"]),  # any query holding it
        ("Cell death: the significance of apoptosis", ["=celldeath"]),  # only the whole query
        ("Matrix: Peer-to-Peer Synthetic Data", ["=matrix"]),
        ("Scaling Laws -- Data Curation", ["=scalinglaws"]),
        ("xLLM Technical Report", ["xllm"]),  # a name-like first word
        ("Decentralized Diffusion Models", []),  # no name
        ("One two three four five six seven eight nine: ten", []),  # too long to be a name
    ],
)
def test_a_title_gives_its_name_keys(db, title, keys):
    with connection.cursor() as cursor:
        cursor.execute("SELECT paper_name_keys(%s)", [title])
        assert sorted(cursor.fetchone()[0]) == keys


def test_the_query_offers_every_run_of_its_words_and_itself_whole():
    keys = query_keys("the P/D-Serve paper")
    assert {"pdserve", "thepdserve", "pdservepaper", "=thepdservepaper"} <= set(keys)
    assert "=pdserve" not in keys

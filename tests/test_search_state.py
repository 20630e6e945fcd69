"""SearchState: the URL is the state. Parsing, validation and the canonical query string."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl

import pytest
from django.http import QueryDict

from search.state import MAX_ORGS, MAX_PAGE, MAX_QUERY_LENGTH, SearchState


def parse(query: str) -> SearchState:
    return SearchState.from_query(QueryDict(query))


# --- canonical round trip ---------------------------------------------------------------------

ROUND_TRIPS = [
    "",
    "q=kv+cache",
    "q=%22KV+cache%22+-survey",
    "q=a+OR+b&mode=keyword",
    "q=x&mode=semantic",
    "org=acme",
    "org=zeta&org=acme&org=mid",
    "org=acme&org=acme&org=ACME",
    "from=2024",
    "from=2024-02",
    "from=2024-02-29",
    "to=2023",
    "to=2024-02",
    "to=2024-02-29",
    "from=2023&to=2024-06-30",
    "from=2024-01-15&to=2024-01-15",
    "sort=oldest",
    "sort=upvotes",
    "q=x&sort=newest",
    "q=x&sort=oldest",
    "q=x&sort=upvotes",
    "page=2",
    "q=x&page=500",
    "q=caf%C3%A9+%E2%80%9Cquotes%E2%80%9D+%F0%9F%98%80",
    "page=3&sort=upvotes&to=2025&from=2024-03&org=b&org=a&mode=keyword&q=llm+serving",
    "q=++spaced+++out++&mode=KEYWORD&sort=Oldest",
    "q=a%26b%3Dc&org=x_y-z",
]


@pytest.mark.parametrize("query", ROUND_TRIPS)
def test_it_round_trips_through_the_canonical_query_string(query):
    first = parse(query)
    assert not first.errors
    written = first.to_query()
    second = parse(written)
    assert second == first
    assert second.to_query() == written
    assert not second.errors


def test_it_writes_parameters_in_one_canonical_order():
    state = parse("page=3&sort=upvotes&to=2025&from=2024-03&org=b&org=a&mode=keyword&q=llm")
    assert [name for name, _ in parse_qsl(state.to_query())] == [
        "q",
        "mode",
        "org",
        "org",
        "from",
        "to",
        "sort",
        "page",
    ]
    assert (
        state.to_query()
        == "q=llm&mode=keyword&org=a&org=b&from=2024-03&to=2025&sort=upvotes&page=3"
    )


def test_it_sorts_and_deduplicates_repeated_orgs():
    state = parse("org=zeta&org=acme&org=zeta&org=ACME&org=")
    assert state.orgs == ("acme", "zeta")
    assert state.to_query() == "org=acme&org=zeta"


def test_it_omits_defaults():
    state = parse("q=&mode=hybrid&page=1&org=&from=&to=")
    assert state == SearchState()
    assert state.to_query() == ""


def test_it_omits_the_default_sort_with_and_without_a_query():
    assert parse("q=x&sort=relevance").to_query() == "q=x"
    assert parse("sort=newest").to_query() == ""
    assert parse("q=x&sort=newest").to_query() == "q=x&sort=newest"


def test_it_treats_relevance_without_a_query_as_newest():
    state = parse("sort=relevance")
    assert not state.errors
    assert state.effective_sort == "newest"


def test_it_normalizes_whitespace_in_the_query():
    assert parse("q=%20%20kv%09%0Acache%20").q == "kv cache"


def test_it_ignores_unknown_parameters():
    state = parse("q=kv&utm_source=mail&foo=bar&ORG=acme&Q=other")
    assert not state.errors
    assert state == parse("q=kv")
    assert state.to_query() == "q=kv"


def test_it_accepts_a_plain_dict():
    state = SearchState.from_query({"q": "kv", "org": ["b", "a"], "page": "2"})
    assert state.orgs == ("a", "b")
    assert state.page == 2


def test_to_dict_echoes_the_canonical_state():
    state = parse("q=kv&org=b&org=a&cat=hep-th&from=2024&page=2")
    assert state.to_dict() == {
        "q": "kv",
        "mode": "hybrid",
        "org": ["a", "b"],
        "cat": ["hep-th"],
        "from": "2024",
        "to": None,
        "like": [],
        "unlike": [],
        "as_of": None,
        "sort": "relevance",
        "page": 2,
    }
    assert parse("").to_dict()["sort"] == "newest"


def test_a_page_padded_with_thousands_of_zeros_is_still_that_page():
    """int() refuses strings over 4,300 digits, leading zeros included."""
    state = parse("page=" + "0" * 5000 + "2")
    assert (state.errors, state.page) == ({}, 2)


def test_changing_anything_but_the_page_goes_back_to_page_one():
    state = parse("q=kv&page=4")
    assert state.with_changes(mode="keyword").page == 1
    assert state.with_changes(page=2).page == 2
    assert state.toggling_org("acme").to_query() == "q=kv&org=acme"
    assert parse("q=kv&org=acme&org=beta&page=2").toggling_org("acme").to_query() == "q=kv&org=beta"


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("from=2024", date(2024, 1, 1), None),
        ("from=2024-02", date(2024, 2, 1), None),
        ("from=2024-02-29", date(2024, 2, 29), None),
        ("to=2024", None, date(2024, 12, 31)),
        ("to=2024-02", None, date(2024, 2, 29)),
        ("to=2023-02", None, date(2023, 2, 28)),
        ("to=2024-04", None, date(2024, 4, 30)),
        ("to=2024-02-10", None, date(2024, 2, 10)),
        ("from=2024-02&to=2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("from=2024-05&to=2024", date(2024, 5, 1), date(2024, 12, 31)),
    ],
)
def test_it_reads_dates_as_inclusive_ranges(query, start, end):
    state = parse(query)
    assert not state.errors
    assert (state.start_date, state.end_date) == (start, end)
    assert state.is_filtered


def test_it_keeps_a_date_as_the_user_wrote_it():
    state = parse("from=2024-03&to=2025")
    assert (state.date_from, state.date_to) == ("2024-03", "2025")
    assert state.to_query() == "from=2024-03&to=2025"


# --- invalid values: reported per field, the rest still works ---------------------------------

INVALID = [
    ("mode", "mode=fuzzy"),
    ("mode", "mode=hybrid2"),
    ("sort", "sort=random"),
    ("sort", "sort=-newest"),
    ("org", "org=not%20a%20slug"),
    ("org", "org=acme%2Fevil"),
    ("org", "org=%3Cscript%3E"),
    ("org", "org=" + "a" * 101),
    ("org", "org=caf%C3%A9"),
    ("from", "from=2024-13"),
    ("from", "from=2024-00"),
    ("from", "from=2024-02-30"),
    ("from", "from=2023-02-29"),
    ("from", "from=2024-04-31"),
    ("from", "from=0000"),
    ("from", "from=24"),
    ("from", "from=20240"),
    ("from", "from=2024-1"),
    ("from", "from=2024-01-1"),
    ("from", "from=2024%2F01%2F01"),
    ("from", "from=yesterday"),
    ("from", "from=2024-01-01T00%3A00"),
    ("from", "from=%D9%A2%D9%A0%D9%A2%D9%A4"),  # Arabic-Indic digits
    ("to", "to=2024-13"),
    ("to", "to=2024-02-30"),
    ("to", "to=abc"),
    ("to", "from=2024-06&to=2024-05-31"),
    ("to", "from=2025&to=2024"),
    ("page", "page=0"),
    ("page", "page=-1"),
    ("page", "page=abc"),
    ("page", "page=1.5"),
    ("page", "page=%2B2"),
    ("page", "page=1e3"),
    ("page", f"page={MAX_PAGE + 1}"),
    ("page", "page=99999999999999999999999999"),
    ("page", "page=" + "9" * 5000),  # past Python's int-string limit of 4,300 digits
    ("page", "page=%C2%B2"),  # "²".isdigit() is True, int("²") is not
    ("page", "page=%D9%A3"),  # Arabic-Indic three
    ("q", "q=" + "x" * (MAX_QUERY_LENGTH + 1)),
]


@pytest.mark.parametrize(("field", "query"), INVALID)
def test_it_reports_an_invalid_value_on_its_field(field, query):
    state = parse(f"{query}&q2=ignored")
    assert list(state.errors) == [field]
    assert state.errors[field]


@pytest.mark.parametrize(("field", "query"), INVALID)
def test_an_invalid_value_leaves_the_rest_of_the_state_working(field, query):
    rest = {
        "q": "q=kv+cache",
        "mode": "mode=keyword",
        "org": "org=acme",
        "from": "from=2023",
        "to": "to=2026",
        "sort": "sort=upvotes",
        "page": "page=2",
    }
    if field == "to" and "from=" in query:
        rest.pop("from")
    kept = "&".join(value for name, value in rest.items() if name != field)
    state = parse(f"{kept}&{query}")
    assert list(state.errors) == [field]
    good = parse(kept)
    for name in ("q", "mode", "orgs", "date_from", "date_to", "sort", "page"):
        if name in ("date_from", "date_to") and field in ("from", "to"):
            continue
        if name == "q" and field == "q":
            continue
        if name == "orgs" and field == "org":
            continue
        assert getattr(state, name) == getattr(good, name), name


def test_an_invalid_value_falls_back_to_its_default():
    state = parse("mode=fuzzy&sort=random&from=2024-13&to=nope&page=0")
    assert set(state.errors) == {"mode", "sort", "from", "to", "page"}
    assert (state.mode, state.sort, state.date_from, state.date_to, state.page) == (
        "hybrid",
        None,
        "",
        "",
        1,
    )
    assert state.to_query() == ""


def test_it_keeps_the_valid_orgs_next_to_a_malformed_one():
    state = parse("org=acme&org=bad%20one&org=beta")
    assert "org" in state.errors
    assert state.orgs == ("acme", "beta")


def test_it_limits_the_number_of_orgs():
    state = parse("&".join(f"org=org{i:02d}" for i in range(MAX_ORGS + 5)))
    assert "org" in state.errors
    assert len(state.orgs) == MAX_ORGS
    assert parse("&".join(f"org=org{i:02d}" for i in range(MAX_ORGS))).errors == {}


def test_to_before_from_keeps_from_and_drops_to():
    state = parse("from=2024-06&to=2024-05-31&q=kv")
    assert state.errors == {"to": "The end date is before the start date."}
    assert (state.date_from, state.date_to, state.q) == ("2024-06", "", "kv")
    assert state.rejected == {"to": "2024-05-31"}


def test_a_refused_date_is_kept_as_typed_for_the_form_but_not_in_the_permalink():
    state = parse("from=%202024-13%20&to=2025&q=kv")
    assert state.rejected == {"from": "2024-13"}
    assert state.url == "/?q=kv&to=2025"
    assert state.with_changes(q="kv cache").rejected == {}


def test_a_too_long_query_is_cut_to_the_limit():
    state = parse("q=" + "x" * 600)
    assert "q" in state.errors
    assert len(state.q) == MAX_QUERY_LENGTH
    assert not parse("q=" + "x" * MAX_QUERY_LENGTH).errors


def test_the_query_limit_counts_after_collapsing_whitespace():
    assert not parse("q=" + "x" + "+" * 1000 + "y").errors


def test_it_removes_nul_characters_from_the_query():
    # PostgreSQL text cannot hold NUL: left in, it turned any search into a 500.
    state = parse("q=kv%00cache%00")
    assert not state.errors
    assert "\x00" not in state.q
    assert state.q == "kv cache"


def test_invalid_states_report_every_field_at_once():
    state = parse(
        "mode=x&sort=y&org=%21&from=2024-13&to=2024-02-30&page=0&q=" + "z" * 501,
    )
    assert set(state.errors) == {"mode", "sort", "org", "from", "to", "page", "q"}

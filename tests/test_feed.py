"""/feed.atom: the newest papers matching a search, as a valid Atom feed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime

import pytest
from django.http import QueryDict

from papers.models import Paper
from search.engine import search
from search.state import SearchState
from tests.catalogue import INFINITE, paper

ATOM = "{http://www.w3.org/2005/Atom}"


def feed(client, query: str = "") -> ET.Element:
    response = client.get(f"/feed.atom?{query}" if query else "/feed.atom")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert_valid_atom(root)
    return root


def text(element: ET.Element, name: str) -> str:
    child = element.find(ATOM + name)
    assert child is not None, name
    return child.text or ""


def assert_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_valid_atom(root: ET.Element) -> None:
    """The elements RFC 4287 requires: feed id, title, updated; each entry id, title, updated and
    a link; every timestamp an RFC 3339 date-time."""
    assert root.tag == ATOM + "feed"
    assert text(root, "id")
    assert text(root, "title")
    assert_timestamp(text(root, "updated"))
    assert root.find(ATOM + "link") is not None
    for entry in root.findall(ATOM + "entry"):
        assert text(entry, "id")
        assert text(entry, "title")
        assert_timestamp(text(entry, "updated"))
        link = entry.find(ATOM + "link")
        assert link is not None and link.get("href", "").startswith("http://testserver/papers/")
        published = entry.find(ATOM + "published")
        if published is not None:
            assert_timestamp(published.text)
    ids = [text(entry, "id") for entry in root.findall(ATOM + "entry")]
    assert len(ids) == len(set(ids))


def entry_titles(root: ET.Element) -> list[str]:
    return [text(entry, "title") for entry in root.findall(ATOM + "entry")]


def entry_dates(root: ET.Element) -> list[date | None]:
    dates = []
    for entry in root.findall(ATOM + "entry"):
        published = entry.find(ATOM + "published")
        dates.append(None if published is None else assert_timestamp(published.text).date())
    return dates


def test_the_feed_is_valid_atom_with_the_newest_papers(client, catalogue):
    root = feed(client)
    assert text(root, "title") == "Newest papers"
    assert len(root.findall(ATOM + "entry")) == 20
    dates = entry_dates(root)
    assert None not in dates
    assert dates == sorted(dates, reverse=True)
    newest = Paper.objects.filter(published__isnull=False).order_by("-published").first()
    assert entry_titles(root)[0] == newest.title


def test_an_entry_links_to_the_paper_page(client, catalogue):
    target = paper(INFINITE)
    root = feed(client, "q=DistAttention&mode=keyword")
    [entry] = root.findall(ATOM + "entry")
    assert text(entry, "title") == target.title
    assert entry.find(ATOM + "link").get("href") == f"http://testserver{target.get_absolute_url()}"
    assert text(entry, "summary") == target.abstract
    assert entry_dates(root) == [date(2024, 1, 5)]


def test_the_feed_title_and_link_name_the_search(client, catalogue):
    root = feed(client, "q=KV+cache&mode=keyword&org=acme")
    assert text(root, "title") == "Papers matching “KV cache”"
    link = root.find(ATOM + "link")
    assert link.get("href") == "http://testserver/?q=KV+cache&mode=keyword&org=acme"


def test_a_query_feed_is_newest_first(client, catalogue):
    root = feed(client, "q=%22KV+cache%22&mode=keyword")
    dates = entry_dates(root)
    assert len(dates) > 3
    dated = [d for d in dates if d is not None]
    assert dated == sorted(dated, reverse=True)
    assert dates[: len(dated)] == dated  # any undated paper comes last


def test_the_feed_ignores_the_sort_and_page_it_is_given(client, catalogue):
    plain = entry_titles(feed(client, "q=%22KV+cache%22&mode=keyword"))
    assert entry_titles(feed(client, "q=%22KV+cache%22&mode=keyword&sort=oldest&page=2")) == plain


def test_the_feed_respects_the_query(client, catalogue):
    root = feed(client, "q=%22KV+cache%22+-survey&mode=keyword")
    titles = entry_titles(root)
    assert titles
    for title in titles:
        paper = Paper.objects.get(title=title)
        assert "survey" not in (paper.title + paper.abstract).lower()
        assert "kv cache" in (paper.title + " " + paper.abstract).lower().replace("-", " ")


def test_the_feed_respects_the_org_filter(client, catalogue):
    titles = entry_titles(feed(client, "org=acme"))
    assert sorted(titles) == sorted(
        Paper.objects.filter(organization__slug="acme").values_list("title", flat=True)
    )
    assert titles[-1].startswith("Horizon-LM")  # undated: last


def test_the_feed_respects_the_date_filter(client, catalogue):
    root = feed(client, "from=2024-01&to=2024-06")
    dates = entry_dates(root)
    expected = Paper.objects.filter(
        published__gte=date(2024, 1, 1), published__lte=date(2024, 6, 30)
    )
    assert len(dates) == expected.count() > 0
    assert all(date(2024, 1, 1) <= d <= date(2024, 6, 30) for d in dates)


def test_the_feed_of_a_search_by_meaning_holds_its_strong_matches_within_the_filters(
    client, catalogue
):
    query = "q=long+context+LLM+inference&mode=semantic&org=acme&from=2024-06"
    titles = entry_titles(feed(client, query))
    strong = [h.paper for h in search(SearchState.from_query(QueryDict(query))).hits if h.strong]
    assert sorted(titles) == sorted(p.title for p in strong)
    assert titles and all(
        p.organization.slug == "acme" and p.published >= date(2024, 6, 1) for p in strong
    )
    loose = feed(client, "q=long+context+LLM+inference&mode=semantic&org=acme")
    assert len(entry_titles(loose)) < Paper.objects.filter(organization__slug="acme").count()


def test_the_feed_of_a_hybrid_search_follows_its_matches(client, catalogue):
    target = paper(INFINITE)
    titles = entry_titles(feed(client, "q=DistAttention"))
    assert target.title in titles
    assert titles != entry_titles(feed(client))


def test_a_feed_without_matches_is_still_valid(client, catalogue):
    root = feed(client, "q=qwzxjv&mode=keyword")
    assert root.findall(ATOM + "entry") == []


def test_html_in_a_paper_reaches_a_feed_reader_as_text(client, catalogue):
    """Atom's type="text" (the default for title) tells a reader to show the content as it is;
    type="html" would have it render the abstract's markup (and choke on "p < 0.05")."""
    Paper.objects.create(
        title="Quokka <script>alert(1)</script> & <b>friends</b>",
        abstract="Quokka ]]> <img src=x onerror=alert(2)> & p < 0.05",
        published=date(2030, 1, 1),
        key="hostile",
        source="test",
    )
    root = feed(client, "q=quokka&mode=keyword")
    [entry] = root.findall(ATOM + "entry")
    title, summary = entry.find(ATOM + "title"), entry.find(ATOM + "summary")
    assert title.get("type", "text") == "text"
    assert title.text == "Quokka <script>alert(1)</script> & <b>friends</b>"
    assert summary.get("type", "text") == "text"
    assert summary.text == "Quokka ]]> <img src=x onerror=alert(2)> & p < 0.05"


@pytest.mark.parametrize(
    "query",
    ["q=%00", "q=%02x%03", "q=%1B%5B31m", "q=%3C%2Ffeed%3E", "q=%5D%5D%3E", "q=%F0%9F%98%80"],
)
def test_odd_queries_still_make_valid_xml(client, catalogue, query):
    feed(client, query + "&mode=keyword")


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("mode=fuzzy", {"mode"}),
        ("sort=random", {"sort"}),
        ("org=bad%20slug", {"org"}),
        ("from=2024-13", {"from"}),
        ("to=2024-02-30", {"to"}),
        ("from=2025&to=2024", {"to"}),
        ("page=0", {"page"}),
        ("page=" + "9" * 5000, {"page"}),  # past Python's int-string limit of 4,300 digits
        ("q=" + "x" * 501, {"q"}),
    ],
)
def test_invalid_parameters_are_a_400(client, catalogue, query, fields):
    response = client.get(f"/feed.atom?{query}")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == fields

"""The search page and the paper page: full pages, htmx partials, permalinks, errors, escaping."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import escape, unescape
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from papers import keyword_index
from papers.models import Paper
from tests.catalogue import INFINITE, LIFL, paper

XSS = "<script>alert(1)</script>"
HTMX = {"HX-Request": "true"}


def templates(response) -> list[str]:
    return [t.name for t in response.templates]


def hit_titles(response) -> list[str]:
    html = response.content.decode()
    found = re.findall(r'<li class="hit">\s*<h3><a href="[^"]*">(.*?)</a></h3>', html, re.S)
    return [unescape(re.sub(r"</?mark>", "", title)) for title in found]


def announced(response) -> str:
    html = response.content.decode()
    match = re.search(r'<p id="announce"[^>]*>(.*?)</p>', html, re.S)
    return " ".join(match.group(1).split())


# --- the search page --------------------------------------------------------------------------


def test_the_search_page_lists_the_newest_papers(client, catalogue):
    response = client.get("/")
    assert response.status_code == 200
    assert "search/index.html" in templates(response)
    html = response.content.decode()
    assert '<form id="search-form"' in html and 'method="get"' in html
    assert 'name="q"' in html
    assert announced(response) == "57 papers, page 1 of 3"
    assert len(hit_titles(response)) == 20
    assert hit_titles(response)[0].startswith("The Science Data Lake")
    assert 'rel="next" href="/?page=2"' in html
    assert 'rel="prev"' not in html
    assert '<link rel="canonical" href="/">' in html


def test_the_status_line_is_cached_under_a_key_any_cache_takes(client, catalogue, settings):
    """Production caches the status line: a key with spaces works in local memory but a
    memcached would refuse it (Django warns)."""
    import warnings

    from django.core.cache import cache
    from django.core.cache.backends.base import CacheKeyWarning

    settings.STATUS_CACHE_SECONDS = 5
    cache.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        first, again = client.get("/"), client.get("/")
    assert first.status_code == again.status_code == 200
    assert "57 papers" in unescape(again.content.decode())


def test_the_organization_counts_say_what_they_count(client, catalogue):
    """By meaning the counts are of the listed papers; with an organization chosen, of every
    organization's (so that others can be added), not of the papers the page lists."""
    listed = unescape(client.get("/?q=KV+cache+memory").content.decode())
    assert re.search(r"Counts among the \d+ papers listed\.", listed)
    chosen = unescape(client.get("/?q=KV+cache+memory&org=acme").content.decode())
    assert "Counts among the top matches of every organization, as if none were chosen." in chosen
    assert "papers listed." not in chosen


def test_a_query_shows_its_matches_with_why_they_matched(client, catalogue):
    response = client.get("/?q=aggregating+model+updates+without+an+always-on+server")
    assert response.status_code == 200
    assert hit_titles(response)[0].startswith(LIFL)
    html = response.content.decode()
    # In plain words (the words it contains), the ranks in the tooltip.
    assert re.search(
        r'<p class="why small">Why: <span title="Ranked #1 by words and #1 by meaning">'
        r"contains ‘\w+’(, ‘\w+’)* · close in meaning</span></p>",
        unescape(html),
    ), html[html.index('class="why') - 50 :][:400]
    assert "Strong matches hold your words or are close to them in meaning" in html
    assert re.search(r"\d+ strong match(es)? · \d+ loosely related", html)
    assert html.index('class="loose-divider"') > html.index("hit-list")
    assert '<input id="q" name="q" type="search" value="aggregating model updates' in html


def test_keyword_matches_are_highlighted(client, catalogue):
    response = client.get("/?q=DistAttention&mode=keyword")
    html = response.content.decode()
    assert hit_titles(response) == [paper(INFINITE).title]
    assert "<mark>DistAttention</mark>" in html
    assert announced(response) == "1 paper found"


def test_the_last_page_has_a_previous_link_and_no_next(client, catalogue):
    response = client.get("/?page=3")
    html = response.content.decode()
    assert len(hit_titles(response)) == 17
    assert 'rel="prev" href="/?page=2"' in html
    assert 'rel="next"' not in html
    assert '<ol class="hit-list" start="41">' in html


def test_a_page_past_the_end_says_so_and_links_back(client, catalogue):
    response = client.get("/?q=DistAttention&mode=keyword&page=2")
    assert response.status_code == 200
    html = response.content.decode()
    assert hit_titles(response) == []
    assert "There is no page 2 for this search." in html
    assert 'href="/?q=DistAttention&amp;mode=keyword">Back to the first page' in html


def test_no_results_suggest_dropping_a_filter(client, catalogue):
    response = client.get("/?q=DistAttention&mode=keyword&org=acme&from=2025")
    html = response.content.decode()
    assert "No papers match “DistAttention” with these filters." in html
    assert 'href="/?q=DistAttention&amp;mode=keyword&amp;from=2025">without acme</a>' in html
    assert 'href="/?q=DistAttention&amp;mode=keyword&amp;org=acme">any date</a>' in html
    assert announced(response) == "No papers found"


def test_no_keyword_results_suggest_searching_by_meaning(client, catalogue):
    html = client.get("/?q=qwzxjv&mode=keyword").content.decode()
    assert 'href="/?q=qwzxjv">searching by meaning too</a>' in html


def test_a_date_sort_with_no_strong_match_points_to_the_loosely_related(client, catalogue):
    """Sorted by date a search by meaning lists its strong matches only: `C++`, which no demo
    paper holds, has none, and the page says where the loosely related papers are."""
    html = client.get("/?q=C%2B%2B&sort=newest").content.decode()
    assert hit_titles(client.get("/?q=C%2B%2B&sort=newest")) == []
    assert "Sorted by newest, the list holds strong matches only." in html
    assert '<a href="/?q=C%2B%2B">Sort by relevance</a>' in html
    relevance = client.get("/?q=C%2B%2B").content.decode()
    assert "No strong matches · 57 loosely related" in relevance


def test_the_org_filter_shows_counts_and_keeps_other_orgs(client, catalogue):
    html = client.get("/?org=acme").content.decode()
    assert re.search(r'id="org-acme"[^>]*checked', html)
    assert re.search(r"Acme Research <span class=\"count\">4</span>", html)
    assert re.search(r'id="org-microsoft"[^>]*>\s*Microsoft', html)
    assert "4 papers" in html


def test_the_page_links_its_feed_and_its_json(client, catalogue):
    html = client.get("/?q=kv&mode=keyword&page=2").content.decode()
    assert 'href="/feed.atom?q=kv&amp;mode=keyword"' in html
    assert 'type="application/atom+xml"' in html
    assert 'href="/api/search?q=kv&amp;mode=keyword&amp;page=2"' in html


def test_a_phrase_nothing_contains_says_it_shows_the_closest_in_meaning(client, catalogue):
    html = client.get("/?q=%22quokka+serving%22").content.decode()
    assert "No paper matches “&quot;quokka serving&quot;” exactly; showing the closest" in html
    assert "showing the closest" not in client.get("/?q=%22KV+cache%22").content.decode()


def test_a_typo_says_it_shows_similar_titles(client, catalogue):
    html = client.get("/?q=DistAtention&mode=keyword").content.decode()
    assert "No exact matches for “DistAtention”; showing titles that look similar." in html
    assert 'Ranked #1 by words">its title looks like what you typed<' in html


def test_it_says_how_many_papers_are_not_yet_searchable_by_meaning(client, catalogue):
    target = paper(INFINITE)
    Paper.objects.filter(pk=target.pk).update(abstract=target.abstract + " (edited)")
    response = client.get("/?q=DistAttention")
    html = response.content.decode()
    assert "1 paper can only be found by its words for now" in html
    assert hit_titles(response)[0] == target.title
    # No meaning rank: its vector is stale.
    assert 'Why: <span title="Ranked #1 by words">contains' in html
    assert "close in meaning</span></p>" not in html.split('class="why')[1]


# --- htmx ---------------------------------------------------------------------------------------


def test_an_htmx_request_gets_the_results_partial_and_the_canonical_url(client, catalogue):
    response = client.get("/?q=serverless&mode=keyword", headers=HTMX)
    assert response.status_code == 200
    assert templates(response)[0] == "search/_results.html"
    assert "search/index.html" not in templates(response)
    assert response["HX-Push-Url"] == "/?q=serverless&mode=keyword"
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results"')
    assert "<html" not in html
    assert re.search(r'<p id="announce" hx-swap-oob="innerHTML">\s*\d+ papers? found', html)


def test_an_htmx_request_pushes_the_canonical_url_instead_of_redirecting(client, catalogue):
    response = client.get(
        "/?page=1&sort=relevance&org=acme&mode=hybrid&q=kv+&utm=x&from=2024", headers=HTMX
    )
    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/?q=kv&org=acme&from=2024"


def test_an_htmx_request_without_parameters_pushes_the_root(client, catalogue):
    response = client.get("/?q=", headers=HTMX)
    assert response["HX-Push-Url"] == "/"


def test_an_invalid_htmx_request_shows_the_error_in_the_partial(client, catalogue):
    response = client.get("/?q=kv&from=2024-13", headers=HTMX)
    assert response.status_code == 400
    assert templates(response)[0] == "search/_results.html"
    assert response["HX-Push-Url"] == "/?q=kv"
    assert "Use a date like 2025, 2025-03 or 2025-03-14." in response.content.decode()


# --- errors and permalinks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("mode=fuzzy", "mode", "Choose one of: hybrid, keyword, semantic."),
        ("sort=random", "sort", "Choose one of: relevance, newest, oldest, upvotes."),
        ("org=bad%20slug", "org", "Not an organization id: &#x27;bad slug&#x27;."),
        ("from=2024-13", "from", "Use a date like 2025, 2025-03 or 2025-03-14."),
        ("to=2024-02-30", "to", "Use a date like 2025, 2025-03 or 2025-03-14."),
        ("from=2024-06&to=2024-05", "to", "The end date is before the start date."),
        ("page=0", "page", "Page must be a whole number from 1 to 500."),
        ("page=abc", "page", "Page must be a whole number from 1 to 500."),
        ("page=" + "9" * 5000, "page", "Page must be a whole number from 1 to 500."),
        ("q=" + "x" * 501, "q", "Search text is limited to 500 characters."),
    ],
)
def test_an_invalid_parameter_is_a_400_with_its_message(client, catalogue, query, field, message):
    response = client.get(f"/?{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert f"<li><strong>{field}</strong>: {message}</li>" in html
    # In the summary, and next to its field (the page number has no field of its own).
    assert html.count(message) == (1 if field == "page" else 2)
    assert response.context["state"].errors.keys() == {field}


@pytest.mark.parametrize("query", ["from=2024-13", "from=2024-06&to=2024-05"])
def test_a_refused_date_stays_in_its_field_marked_invalid(client, catalogue, query):
    """Clearing the field would hide what was wrong; the search runs without the refused value."""
    response = client.get(f"/?q=kv&{query}", headers=HTMX)
    html = response.content.decode()
    field, value = query.split("&")[-1].split("=")
    assert f'name="{field}" value="{value}"' in html
    assert f'aria-invalid="true" aria-describedby="{field}-error"' in html
    assert response["HX-Push-Url"] == ("/?q=kv" if field == "from" else "/?q=kv&from=2024-06")


def test_the_rest_of_an_invalid_page_still_works(client, catalogue):
    response = client.get("/?q=DistAttention&mode=keyword&from=2024-13&sort=nope")
    assert response.status_code == 400
    assert hit_titles(response) == [paper(INFINITE).title]
    html = response.content.decode()
    assert (
        'id="mode-keyword" class="filter-control" type="radio" name="mode" value="keyword" checked'
        in html
    )
    assert "1 paper found" in announced(response)


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("?q=", "/"),
        ("?sort=newest", "/"),
        ("?page=1&mode=hybrid", "/"),
        ("?utm_source=mail", "/"),
        ("?q=kv&sort=relevance", "/?q=kv"),
        ("?q=++kv+++cache++", "/?q=kv+cache"),
        ("?q=kv%20cache", "/?q=kv+cache"),
        ("?org=beta&org=acme&org=beta", "/?org=acme&org=beta"),
        ("?org=ACME", "/?org=acme"),
        ("?mode=KEYWORD&q=x", "/?q=x&mode=keyword"),
        ("?page=2&sort=upvotes&to=2025&from=2024-03&org=b&mode=semantic&q=llm",
         "/?q=llm&mode=semantic&org=b&from=2024-03&to=2025&sort=upvotes&page=2"),
        ("?q=caf%C3%A9&x=1", "/?q=caf%C3%A9"),
    ],
)  # fmt: skip
def test_a_non_canonical_query_string_redirects_to_the_canonical_url(
    client, catalogue, query, canonical
):
    response = client.get(f"/{query}")
    assert response.status_code == 302
    assert response["Location"] == canonical
    assert client.get(canonical).status_code == 200


@pytest.mark.parametrize(
    "url", ["/", "/?q=kv+cache", "/?org=acme&org=beta", "/?q=x&mode=keyword&from=2024&sort=oldest"]
)
def test_a_canonical_url_is_served_directly(client, catalogue, url):
    response = client.get(url)
    assert response.status_code == 200
    assert f'<link rel="canonical" href="{url.replace("&", "&amp;")}">' in response.content.decode()


def test_an_invalid_query_string_is_not_redirected(client, catalogue):
    response = client.get("/?utm=1&page=0&q=kv")
    assert response.status_code == 400


# --- HTML in the data --------------------------------------------------------------------------


@pytest.fixture
def hostile_paper(catalogue) -> Paper:
    return Paper.objects.create(
        title=f"Quokka {XSS} scheduling <b>bold</b> & co",
        abstract=f"We present Quokka. {XSS} <img src=x onerror=alert(2)> quokka everywhere.",
        published=timezone.localdate(),
        key="hostile",
        source="test",
    )


def _assert_no_raw_html(html: str) -> None:
    assert XSS not in html
    assert "<img src=x" not in html
    assert "<b>bold</b>" not in html


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_highlights_are_escaped_but_marked(client, hostile_paper, mode):
    response = client.get(f"/?q=quokka&mode={mode}", follow=True)
    html = response.content.decode()
    assert hostile_paper.title in hit_titles(response)[:2]  # hybrid: tied with meaning's #1
    _assert_no_raw_html(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<mark>Quokka</mark>" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&amp; co" in html


def test_an_abstract_without_highlights_is_escaped(client, hostile_paper):
    response = client.get("/")  # newest first: it was published today
    assert hit_titles(response)[0] == hostile_paper.title
    _assert_no_raw_html(response.content.decode())


def test_the_query_is_escaped_wherever_it_is_shown(client, catalogue):
    response = client.get("/?q=%3Cscript%3Ealert(1)%3C/script%3E&mode=keyword", follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt; · Paper search</title>" in html
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_highlight_markers_typed_in_the_query_do_not_make_tags(client, hostile_paper):
    html = client.get("/?q=quokka+%02x%03&mode=keyword").content.decode()
    assert html.count("<mark>") == html.count("</mark>")
    _assert_no_raw_html(html)


def test_the_paper_page_escapes_the_paper(client, hostile_paper):
    response = client.get(hostile_paper.get_absolute_url())
    assert response.status_code == 200
    _assert_no_raw_html(response.content.decode())


# --- the paper page ---------------------------------------------------------------------------


def test_the_paper_page_shows_the_paper(client, catalogue):
    target = paper(INFINITE)
    response = client.get(target.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert f"<h1>{target.title}</h1>" in html
    assert '<time datetime="2024-01-05">Jan 5, 2024</time>' in html
    assert '<a href="/?org=acme">Acme Research</a>' in html
    assert "13 authors" in html and ">2 upvotes</span>" in html
    url = f"http://testserver/papers/{target.pk}/{target.slug}/"
    assert f'<link rel="canonical" href="{url}">' in html
    assert f'value="{url}"' in html
    assert "Copy link" in html


def test_the_paper_page_is_served_without_a_slug(client, catalogue):
    target = paper(LIFL)
    response = client.get(f"/papers/{target.pk}/")
    assert response.status_code == 200
    assert target.get_absolute_url() in response.content.decode()


def test_the_canonical_paper_url_has_the_slug(client, catalogue):
    target = paper(LIFL)
    assert target.get_absolute_url() == (
        f"/papers/{target.pk}/lifl-a-lightweight-event-driven-serverless-platform-for-federated-learning/"
    )
    assert client.get(target.get_absolute_url()).status_code == 200


@pytest.mark.parametrize(
    "slug", ["wrong", "LIFL", "lifl-a-lightweight-event-driven-serverless-platform"]
)
def test_a_wrong_slug_redirects_permanently(client, catalogue, slug):
    target = paper(LIFL)
    response = client.get(f"/papers/{target.pk}/{slug}/")
    assert response.status_code == 301
    assert response["Location"] == target.get_absolute_url()


@pytest.mark.parametrize(
    "path", ["/papers/999999/", "/papers/999999/some-slug/", "/papers/99999999999999999999999/"]
)
def test_an_unknown_paper_is_a_404(client, catalogue, path):
    assert client.get(path).status_code == 404


def test_the_paper_page_lists_ten_similar_papers(client, catalogue):
    target = paper(INFINITE)
    html = client.get(target.get_absolute_url()).content.decode()
    section = html[
        html.index('<ol class="similar-list">') : html.index("</ol>", html.index("similar-list"))
    ]
    links = re.findall(r'<li><a href="(/papers/\d+/[^"]+/)">', section)
    assert len(links) == 10
    assert target.get_absolute_url() not in links
    assert len(set(links)) == 10
    like_this = "/?" + urlencode({"q": target.title, "mode": "semantic"}, safe=":")
    within = "/?" + urlencode({"q": target.title, "mode": "semantic", "org": "acme"}, safe=":")
    assert f'<a href="{escape(like_this)}">Search by meaning for papers like this</a>' in html
    assert f'<a href="{escape(within)}">…within Acme Research</a>' in html
    # Canonical URLs: served as they are, not redirected.
    assert client.get(like_this).status_code == client.get(within).status_code == 200


def test_a_paper_without_a_current_vector_says_so_instead_of_similar_papers(client, catalogue):
    target = paper(LIFL)
    Paper.objects.filter(pk=target.pk).update(title=target.title + " (v2)")
    target.refresh_from_db()
    response = client.get(target.get_absolute_url())
    assert response.status_code == 200
    assert "not yet indexed by meaning" in response.content.decode()
    assert response.context["similar"] is None


def test_an_undated_paper_page_says_undated(client, catalogue):
    target = Paper.objects.filter(published__isnull=True).first()
    html = client.get(target.get_absolute_url()).content.decode()
    assert "Undated" in html


# --- nothing a user types causes a 500 -------------------------------------------------------

JUNK = [
    "q=%00",
    "q=kv%00cache&mode=keyword",
    "q=%00&mode=semantic",
    "q=%ED%A0%80",
    "q=%FF%FE%FD",
    "q=%ZZ",
    "%ZZ=1",
    "q=" + "a" * 5000,
    "q=" + "%F0%9F%98%80" * 501,
    "q=" + "word+" * 200,
    "q=-",
    "q=%22",
    "q=%22%22%22",
    "q=OR+OR",
    "q=OR",
    "q=-OR+-",
    "q=!!!",
    "q=%26%26",
    "q=%7C%7C",
    "q=%27%3B+drop+table+papers_paper%3B+--",
    "q=%3Cscript%3E",
    "q=%5C",
    "q=a:*",
    "q=%28%28%28",
    "q=%3C-%3E",
    "q=%E2%80%AE%E2%80%8B",
    "q=%0A%0D%09",
    "q=%25",
    "q=%02%03",
    "q=&q=&q=",
    "q",
    "=",
    "&&&",
    "mode[]=x",
    "mode=%C4%B0",
    "sort=%F0%9F%98%80",
    "org=%00",
    "org[]=a",
    "org=" + "&org=".join(f"o{i}" for i in range(200)),
    "from=%00",
    "from=0001-01-01&to=9999-12-31",
    "from=9999",
    "to=0001",
    "page=%00",
    "page=1%00",
    "page=%C2%B2",
    "page=%D9%A3",
    "page=500&q=x",
    "page=" + "9" * 400,
]


@pytest.mark.parametrize("query", JUNK)
def test_junk_input_never_causes_a_500(client, catalogue, query):
    response = client.get(f"/?{query}")
    assert response.status_code in (200, 302, 400)
    if response.status_code == 302:
        followed = client.get(response["Location"])
        assert followed.status_code == 200  # the canonical URL does not redirect again
    htmx = client.get(f"/?{query}", headers=HTMX)
    assert htmx.status_code in (200, 400)
    for path in ("/api/search", "/feed.atom"):
        assert client.get(f"{path}?{query}").status_code in (200, 400), path


def test_the_date_presets_count_back_from_the_newest_paper(client, catalogue):
    html = client.get("/?q=kv").content.decode()
    newest = catalogue_dates()[1]
    week = (newest - timedelta(days=6)).isoformat()
    assert f'href="/?q=kv&amp;from={week}"' in html
    assert ">Newest week<" in html and ">Newest month<" in html and ">Newest year<" in html
    assert f"Counted back from the newest paper, {newest:%b} {newest.day}, {newest:%Y}:" in html


def test_no_date_presets_are_offered_when_no_paper_has_a_date(client, catalogue):
    Paper.objects.update(published=None)
    html = client.get("/").content.decode()
    assert "Newest week" not in html and "Counted back" not in html


def test_a_date_range_is_applied_from_the_url(client, catalogue):
    response = client.get("/?from=2024-01&to=2024-01")
    assert response.status_code == 200
    dates = re.findall(r'<time datetime="(\d{4}-\d{2}-\d{2})">', response.content.decode())
    assert dates and all(d.startswith("2024-01") for d in dates)
    assert (
        len(dates)
        == Paper.objects.filter(
            published__gte=date(2024, 1, 1), published__lte=date(2024, 1, 31)
        ).count()
    )
    assert 'value="2024-01"' in response.content.decode()


def test_the_search_page_says_how_much_of_the_catalogue_is_searchable_by_meaning(client, catalogue):
    text = " ".join(unescape(client.get("/").content.decode()).split())
    assert (
        "57 papers in the catalogue · all can be found by meaning as well as by their words" in text
    )
    Paper.objects.filter(title__startswith="LIFL").update(abstract="Rewritten, not yet embedded.")
    Paper.objects.filter(title__startswith="POLCA").update(embedding_attempts=99, embedding_hash="")
    text = " ".join(unescape(client.get("/").content.decode()).split())
    assert (
        "55 can be found by meaning so far (the rest by their words) · 1 being indexed by meaning"
        " · 1 failed to index"
    ) in text


def page_text(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def test_the_search_page_says_what_the_catalogue_holds_and_what_each_mode_does(client, catalogue):
    text = page_text(client.get("/"))
    first, last = catalogue_dates()
    span = f"from {first:%B %Y} to {last:%B %Y}"
    assert f"Search 57 research papers from Hugging Face Daily Papers, published {span}" in text
    assert "Best match Papers with your words first, then papers about the same idea" in text
    assert "Contains your words Your words or their forms (train, trained, training)" in text
    assert "Similar in meaning Papers about the same idea, whatever words they use." in text


def test_the_catalogue_names_each_source_once(client, catalogue):
    Paper.objects.filter(title__startswith="LIFL").update(source="arxiv-oai")
    Paper.objects.filter(title__startswith="POLCA").update(source="arxiv-jsonl")
    text = page_text(client.get("/"))
    assert "from arXiv and Hugging Face Daily Papers, published" in text


def catalogue_dates():
    dates = Paper.objects.exclude(published=None).values_list("published", flat=True)
    return min(dates), max(dates)


@pytest.mark.parametrize(
    "referer, link",
    [
        ("http://testserver/?q=kv+cache&mode=keyword", 'href="/?q=kv+cache&amp;mode=keyword"'),
        ("http://testserver/?mode=KEYWORD&q=kv+cache", 'href="/?q=kv+cache&amp;mode=keyword"'),
        ("http://elsewhere.example/?q=kv+cache", '<a href="/">← Search papers'),
        ("http://testserver/api/search?q=kv+cache", '<a href="/">← Search papers'),
        ("http://testserver/?from=2024-13", '<a href="/">← Search papers'),
    ],
)
def test_the_paper_page_links_back_to_the_search_it_came_from(client, catalogue, referer, link):
    """Only this site's search page counts, rebuilt as its canonical URL; else a new search."""
    response = client.get(paper(LIFL).get_absolute_url(), headers={"Referer": referer})
    html = response.content.decode()
    assert link in html
    assert ("Back to results for “kv cache”" in html) == ("?q=" in link)


def test_the_way_back_to_the_results_survives_going_on_to_a_similar_paper(client, catalogue):
    first = client.get(
        paper(LIFL).get_absolute_url(), headers={"Referer": "http://testserver/?q=kv+cache"}
    ).content.decode()
    similar = re.findall(r'<li><a href="(/papers/[^"]+\?from=[^"]+)"', first)
    assert similar and all("from=q%3Dkv%2Bcache" in link for link in similar)
    # The next paper is reached from a paper page: its Referer is no search, `from` is.
    from_a_paper = {"Referer": "http://testserver" + paper(LIFL).get_absolute_url()}
    second = client.get(unescape(similar[0]), headers=from_a_paper).content.decode()
    assert "Back to results for “kv cache”" in second
    assert 'href="/?q=kv+cache"' in second
    bad = client.get(paper(LIFL).get_absolute_url(), {"from": "from=2024-13"}).content.decode()
    assert "Back to results" not in bad  # an invalid search is no way back


# --- did you mean -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_unknown_words_get_a_did_you_mean_link_in_every_mode(client, catalogue, mode):
    response = client.get("/", {"q": "speculatve decodng", "mode": mode}, follow=True)
    html = response.content.decode()
    corrected = escape(f"/?q=speculative+decoding{'' if mode == 'hybrid' else '&mode=' + mode}")
    assert f'Did you mean <a href="{corrected}">speculative decoding</a>?' in html


def test_did_you_mean_keeps_known_words_syntax_and_filters(client, catalogue):
    html = client.get("/", {"q": '"distribted trainng" -survey', "org": "acme"}).content.decode()
    corrected = escape("/?" + urlencode({"q": '"distributed training" -survey', "org": "acme"}))
    assert f'<a href="{corrected}">' in html


@pytest.mark.parametrize("q", ["distributed training", "kv cache OR speculative", "qwzxjvkq"])
def test_no_did_you_mean_when_every_word_is_known_or_nothing_is_near(client, catalogue, q):
    assert "Did you mean" not in client.get("/", {"q": q}).content.decode()


def test_the_words_of_a_new_paper_are_suggested_once_it_is_indexed(client, catalogue):
    offered = '">marsupial</a>?'
    assert offered not in client.get("/", {"q": "marsupials"}).content.decode()
    Paper.objects.create(title="QuokkaNet", abstract="A marsupial network.", source="t", key="q")
    keyword_index.flush()
    assert offered in client.get("/", {"q": "marsupials"}).content.decode()


# --- small things -------------------------------------------------------------------------------


def test_a_page_past_the_end_does_not_claim_to_be_page_9_of_3(client, catalogue):
    response = client.get("/?page=9")
    assert announced(response) == "57 papers"
    assert "There is no page 9 for this search." in response.content.decode()


def test_snippets_cut_from_the_abstract_say_so(client, catalogue):
    html = client.get("/?q=federated+learning&mode=keyword").content.decode()
    snippets = re.findall(r'<p class="snippet">(.*?)</p>', html, re.S)
    assert snippets and all(s.startswith("… ") or s.endswith(" …") for s in snippets[:5])


def test_urls_in_an_abstract_are_links(client, catalogue):
    target = paper(LIFL)
    url = "https://github.com/example/lifl"
    Paper.objects.filter(pk=target.pk).update(abstract=f"Code at {url}.")
    html = client.get(target.get_absolute_url()).content.decode()
    assert f'<a href="{url}" rel="nofollow">{url}</a>.' in html


def test_similar_papers_say_how_similar_they_are(client, catalogue):
    html = client.get(paper(LIFL).get_absolute_url()).content.decode()
    closeness = [int(p) for p in re.findall(r"(\d+)% similar", html)]
    assert len(closeness) == 10 and closeness == sorted(closeness, reverse=True)
    assert all(0 < p < 100 for p in closeness)


def test_the_feed_and_json_links_say_what_they_are_and_link_the_api_docs(client, catalogue):
    text = page_text(client.get("/?q=kv"))
    assert (
        "Follow this search: Atom feed (add it to a feed reader to follow new papers) · JSON for"
        " programs ( API documentation )" in text
    )
    docs = client.get("/api/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "<h1>API</h1>" in html and "<table>" in html and "<code>GET /api/search</code>" in html

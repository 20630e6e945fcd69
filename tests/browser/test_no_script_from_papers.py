"""A paper's title or abstract holding HTML or script is shown as text everywhere a browser opens
it: the results (highlighted or not, whole page or htmx swap), the paper page and its similar
papers, the feed, the API and the admin. Each payload would set `window.pwned` or open a dialog
if it ran; the test watches for both, and for a request to the image the payload names."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from papers.indexing import embed_ids
from papers.models import Paper

pytestmark = pytest.mark.browser

TITLE = 'Zebrafinch <script>window.pwned = "title"</script> attention <b>bold</b>'
ABSTRACT = (
    "Zebrafinch song learning with sparse attention, p < 0.05 & q > 1. "
    '<img src="/xss-probe.png" onerror="window.pwned = \'abstract\'; alert(1)"> '
    "<svg onload=\"window.pwned = 'svg'\"></svg> "
    "<a href=\"javascript:window.pwned='link'\">click</a> "
    "<iframe srcdoc=\"<script>parent.pwned='iframe'</script>\"></iframe>"
)


@pytest.fixture
def hostile_paper(site) -> Paper:
    paper = Paper.objects.create(
        title=TITLE, abstract=ABSTRACT, authors=["<i>Mallory</i>"], key="xss:1"
    )
    embed_ids([paper.pk])
    return paper


@pytest.fixture
def watched(page: Page) -> Page:
    """The page, failing the test on any dialog or any request for the payload's image."""
    events: list[str] = []
    page.on("dialog", lambda dialog: (events.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda r: "xss-probe" in r.url and events.append(r.url))
    yield page
    assert events == []


def assert_inert(page: Page) -> None:
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("script:not([src])").count() == 0  # nothing inline at all
    for tag in ("img[onerror]", "svg[onload]", "iframe", "a[href^='javascript']"):
        assert page.locator(tag).count() == 0, tag


@pytest.mark.parametrize("mode", ["keyword", "hybrid", "semantic"])
def test_the_results_show_the_markup_as_text(watched, site, hostile_paper, mode):
    watched.goto(f"{site}/?q=zebrafinch+attention&mode={mode}")
    hit = watched.locator("#results li.hit").filter(has_text="Zebrafinch").first
    expect(hit).to_contain_text('<script>window.pwned = "title"</script>')
    assert_inert(watched)


def test_an_htmx_swap_shows_the_markup_as_text(watched, site, hostile_paper):
    watched.goto(f"{site}/")
    watched.locator("#q").press_sequentially("zebrafinch", delay=15)
    expect(watched.locator("#results")).to_contain_text("<b>bold</b>")
    assert_inert(watched)


def test_the_paper_page_and_its_similar_papers_show_the_markup_as_text(
    watched, site, hostile_paper
):
    twin = Paper.objects.create(title=f"{TITLE} (again)", abstract=ABSTRACT, key="xss:2")
    embed_ids([twin.pk])
    watched.goto(f"{site}{hostile_paper.get_absolute_url()}")
    expect(watched.locator("h1")).to_contain_text("<script>")
    expect(watched.locator("main")).to_contain_text('<img src="/xss-probe.png"')
    expect(watched.locator("main")).to_contain_text("(again)")  # the similar papers list
    assert_inert(watched)


@pytest.mark.parametrize("path", ["/feed.atom?q=zebrafinch", "/api/search?q=zebrafinch"])
def test_the_feed_and_the_api_opened_in_a_browser_run_nothing(watched, site, hostile_paper, path):
    watched.goto(f"{site}{path}")
    expect(watched.locator("body")).to_contain_text("Zebrafinch")
    assert watched.evaluate("() => window.pwned") is None


def test_the_admin_shows_the_markup_as_text(watched, site, hostile_paper, new_context, client):
    admin = get_user_model().objects.create_superuser("admin", "admin@example.org", "pw-x1!")
    client.force_login(admin)
    cookie = client.cookies["sessionid"]
    watched.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": site}])
    watched.goto(f"{site}/admin/papers/paper/?q=zebrafinch")
    expect(watched.locator("#result_list")).to_contain_text("<script>")
    watched.goto(f"{site}/admin/papers/paper/{hostile_paper.pk}/change/")
    expect(watched.locator("#id_title")).to_have_value(TITLE)
    assert watched.evaluate("() => window.pwned") is None

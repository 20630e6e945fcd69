"""What a person does on the search page, in a real Chromium: type, filter, share the URL, go back,
open papers, and the same without JavaScript or on a phone."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

# The count line of a search: "N papers found", or "N strong matches · M loosely related".
COUNTED = re.compile(r"found|strong match")

pytestmark = pytest.mark.browser

HITS = "#results li.hit"
HIT_LINKS = "#results li.hit h3 a"
SHOTS = Path("/tmp/shots")


def params(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def has_params(**expected: str):
    """A URL predicate: every given parameter has exactly this one value."""

    def check(url: str) -> bool:
        found = params(url)
        return all(found.get(name) == [value] for name, value in expected.items())

    return check


def settled(page: Page) -> None:
    """Wait until no htmx request is in flight (the results are swapped and the URL pushed)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def titles(page: Page) -> list[str]:
    return page.locator(HIT_LINKS).all_inner_texts()


def search_for(page: Page, text: str) -> None:
    """Type into the search box like a person and wait for the results of exactly this text."""
    box = page.locator("#q")
    box.fill("")
    box.press_sequentially(text, delay=15)
    page.wait_for_url(has_params(q=text))
    settled(page)
    expect(page.locator("#results-heading")).to_contain_text(COUNTED)


def read_the_results(page: Page) -> None:
    """Pause as a reader does: a search shown for over a second keeps its own history entry (one
    typed on at once replaces it, static/js/app.js)."""
    page.wait_for_timeout(1_100)


def test_typing_a_query_updates_results_without_a_page_load(site, page):
    page.goto(site + "/")
    expect(page.locator("#results-heading")).to_have_text(re.compile(r"^57 papers, page 1 of 3"))
    newest_first = titles(page)
    page.evaluate("window.__marker = 1")

    search_for(page, "aggregating model updates without an always-on server")

    assert page.evaluate("window.__marker") == 1, "the page was reloaded"
    # The address bar is the permalink: the canonical URL, nothing else (relevance is the default).
    assert page.url == site + "/?q=aggregating+model+updates+without+an+always-on+server"
    assert titles(page) != newest_first
    assert titles(page)[0].startswith("LIFL"), titles(page)[:3]
    expect(page.locator("#announce")).to_contain_text(COUNTED)
    expect(page).to_have_title(re.compile("Paper search"))


def test_filters_apply_at_once_and_their_url_reproduces_the_results(site, page, new_context):
    page.goto(site + "/")
    page.evaluate("window.__marker = 1")

    page.locator("#org-microsoft").check()
    page.wait_for_url(has_params(org="microsoft"))
    settled(page)
    expect(page.locator("#org-microsoft")).to_be_checked()
    page.locator("#org-pekinguniversity").check()
    page.wait_for_url(lambda url: params(url).get("org") == ["microsoft", "pekinguniversity"])
    settled(page)

    date_from = page.locator("#from")
    date_from.fill("2025")
    date_from.dispatch_event("change")
    page.wait_for_url(has_params(**{"from": "2025"}))
    settled(page)

    assert page.evaluate("window.__marker") == 1, "the page was reloaded"
    assert page.url == site + "/?org=microsoft&org=pekinguniversity&from=2025"
    expect(page.locator("#from")).to_have_value("2025")
    expect(page.locator("#results-heading")).to_have_text("2 papers")
    filtered = titles(page)
    assert len(filtered) == 2
    assert filtered[0].startswith("DataFlow")  # Dec 2025, then Microsoft's Nov 2025 paper
    assert filtered[1].startswith("UFO")

    # Someone else opens the copied address: same papers, same order.
    other = new_context().new_page()
    other.goto(page.url)
    expect(other.locator("#results-heading")).to_have_text("2 papers")
    assert titles(other) == filtered
    expect(other.locator("#org-microsoft")).to_be_checked()
    expect(other.locator("#org-pekinguniversity")).to_be_checked()
    expect(other.locator("#from")).to_have_value("2025")

    # A query keeps the filters; the shared URL again reproduces the ranking.
    search_for(page, "agents")
    assert params(page.url)["org"] == ["microsoft", "pekinguniversity"]
    ranked = titles(page)
    other.goto(page.url)
    expect(other.locator(HIT_LINKS)).to_have_text(ranked)


def test_back_restores_the_previous_search(site, page):
    page.goto(site + "/")
    search_for(page, "federated learning")
    first_url, first = page.url, titles(page)
    read_the_results(page)
    search_for(page, '"KV cache"')
    assert titles(page) != first

    page.go_back()
    page.wait_for_url(first_url)
    expect(page.locator(HIT_LINKS)).to_have_text(first)
    expect(page.locator("#q")).to_have_value("federated learning")

    page.go_forward()
    page.wait_for_url(has_params(q='"KV cache"'))
    expect(page.locator("#q")).to_have_value('"KV cache"')


def test_back_works_when_the_history_cache_has_lost_the_page(site, page):
    """htmx keeps few snapshots (10, in sessionStorage); older entries are fetched from the server
    and must come back as a whole page, not as the bare results fragment."""
    page.goto(site + "/")
    search_for(page, "federated learning")
    first_url, first = page.url, titles(page)
    read_the_results(page)
    search_for(page, "retrieval datastore")
    page.evaluate("sessionStorage.removeItem('htmx-history-cache')")

    page.go_back()
    page.wait_for_url(first_url)
    expect(page.locator(HIT_LINKS)).to_have_text(first)
    expect(page.locator("#search-form")).to_have_count(1)
    expect(page.locator("#results")).to_have_count(1)
    expect(page.locator("#q")).to_have_value("federated learning")

    search_for(page, "edge devices")  # the restored page still searches as you type
    expect(page.locator("#results")).to_have_count(1)


def test_a_paper_page_and_its_similar_papers(site, page):
    page.goto(site + "/?q=serverless+federated+learning")
    first = page.locator(HIT_LINKS).first
    title = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/papers/\d+/[-\w]+/$"))

    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator("#permalink")).to_have_value(page.url)
    similar = page.locator(".similar-list li a")
    expect(similar).to_have_count(10)
    assert title not in similar.all_inner_texts()

    copy = page.get_by_role("button", name="Copy link")
    expect(copy).to_be_visible()  # revealed by the script
    copy.click()
    expect(copy.locator("xpath=..").locator(".copy-status")).to_have_text(re.compile("copied|Ctrl"))

    other = similar.nth(2)
    other_title, other_href = other.inner_text(), other.get_attribute("href")
    other.click()
    page.wait_for_url(site + other_href)
    expect(page.locator("h1")).to_have_text(other_title)
    expect(page.locator(".similar-list li a")).to_have_count(10)


def test_without_javascript_the_form_searches_and_every_page_is_reachable(site, new_context):
    page = new_context(java_script_enabled=False).new_page()
    page.goto(site + "/")
    page.locator("#q").fill("serverless federated learning")
    page.locator(".searchbar button[type=submit]").click()
    page.wait_for_url(has_params(q="serverless federated learning"))
    # The plain GET is redirected to the permalink: the same URL the script would push.
    assert page.url == site + "/?q=serverless+federated+learning"
    expect(page.locator("#results-heading")).to_contain_text(COUNTED)
    assert titles(page)[0].startswith("LIFL")

    # Filters apply with the form's own button.
    page.locator("#org-microsoft").check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(has_params(org="microsoft"))
    expect(page.locator(HITS)).to_have_count(1)

    # Pagination: every page of the newest papers by plain links.
    page.goto(site + "/")
    seen: list[str] = []
    for number in (1, 2, 3):
        expect(page.locator("#results-heading")).to_have_text(f"57 papers, page {number} of 3")
        seen += titles(page)
        if number < 3:
            page.locator("nav.pager a[rel=next]").click()
            page.wait_for_url(has_params(page=str(number + 1)))
    assert len(seen) == 57 and len(set(seen)) == 57
    expect(page.locator("nav.pager a[rel=next]")).to_have_count(0)
    page.locator("nav.pager a[rel=prev]").click()
    page.wait_for_url(has_params(page="2"))
    expect(page.locator("#results-heading")).to_have_text("57 papers, page 2 of 3")


def test_slash_focuses_the_search_box(site, page):
    page.goto(site + "/?q=federated+learning")
    page.locator("#results-heading").click()  # move focus off the autofocused box
    expect(page.locator("#q")).not_to_be_focused()
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    expect(page.locator("#q")).to_have_value("federated learning")  # the "/" is not typed

    page.locator("#to").focus()  # typing a "/" elsewhere stays there
    page.keyboard.press("/")
    expect(page.locator("#to")).to_be_focused()


def test_results_fit_a_phone_screen(site, page, new_context):
    SHOTS.mkdir(exist_ok=True)
    url = site + "/?q=serverless+federated+learning"
    page.goto(url)
    expect(page.locator(HITS).first).to_be_visible()
    page.screenshot(path=str(SHOTS / "results-desktop.png"), full_page=True)

    phone = new_context(viewport={"width": 375, "height": 800}, is_mobile=True).new_page()
    phone.goto(url)
    expect(phone.locator(HITS).first).to_be_visible()
    expect(phone.locator("#q")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    box = phone.locator(HITS).first.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375 + 1
    phone.screenshot(path=str(SHOTS / "results-phone.png"), full_page=True)
    # The filters follow the results on a phone; a link at the top leads to them.
    expect(page.locator(".to-filters")).to_be_hidden()
    phone.locator(".to-filters a").click()
    expect(phone.locator("#filters")).to_be_in_viewport()

    phone.goto(site + "/")  # the newest-papers page, with every organization filter
    expect(phone.locator(HITS).first).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375 + 1


def test_an_invalid_date_is_explained_inline_and_results_still_render(site, page):
    page.goto(site + "/?q=federated+learning")
    before = titles(page)
    date_from = page.locator("#from")
    date_from.fill("2024-13")
    date_from.dispatch_event("change")

    error = page.locator("#from").locator("xpath=ancestor::fieldset").locator(".error")
    expect(error).to_have_text("From: Use a date like 2025, 2025-03 or 2025-03-14.")
    expect(page.locator(".error-box")).to_contain_text("from")
    settled(page)
    # What was typed stays in the field, marked; the rest of the search stands.
    expect(date_from).to_have_value("2024-13")
    expect(date_from).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".error-box")).to_contain_text("from")
    assert titles(page) == before
    expect(page.locator("#q")).to_have_value("federated learning")

    # The same from a typed-in address: status 400, the message, and the results.
    response = page.goto(site + "/?q=federated+learning&from=2024-13")
    assert response.status == 400
    expect(error).to_be_visible()
    assert titles(page) == before


def test_each_filter_change_searches_once(site, page):
    """Swapping out the focused field must not fire a second, echo search with the new fields."""
    page.goto(site + "/?q=federated+learning")
    searches = []
    page.on("request", lambda r: r.headers.get("hx-request") and searches.append(r.url))
    for value in ("2024", "2024-13"):
        page.locator("#from").fill(value)
        page.locator("#from").dispatch_event("change")
        expect(page.locator("#from")).to_have_value(value)
        settled(page)
    page.locator("#sort").select_option("newest")
    page.wait_for_url(has_params(sort="newest"))
    settled(page)
    dates = [parse_qs(urlsplit(url).query).get("from") for url in searches]
    assert dates == [["2024"], ["2024-13"], ["2024-13"]], searches


def test_back_from_a_paper_page_shows_the_whole_search_page(site, page):
    """The pager fetched /?page=2 as a fragment; coming back to that address from another page
    must not show the browser's cached fragment."""
    page.goto(site + "/")
    page.locator("nav.pager a[rel=next]").click()
    page.wait_for_url(has_params(page="2"))
    heading = page.locator("#results-heading")
    expect(heading).to_have_text("57 papers, page 2 of 3")
    second_page = titles(page)

    page.locator(HIT_LINKS).first.click()
    page.wait_for_url(re.compile(r"/papers/\d+/"))
    page.go_back()
    page.wait_for_url(has_params(page="2"))
    expect(page.locator(HIT_LINKS)).to_have_text(second_page)
    expect(page.locator("#search-form")).to_have_count(1)
    expect(page.locator("link[rel=stylesheet]")).to_have_count(1)

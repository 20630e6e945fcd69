"""A newcomer's first ten minutes in a real Chromium: date presets that are never silently empty,
"did you mean" for typos, focus after each swap and a skip link for keyboard users, and the
filters panel on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_search_page import HITS, has_params, search_for, settled

pytestmark = pytest.mark.browser


def test_every_date_preset_finds_papers_and_says_where_it_counts_from(site, page):
    page.goto(site + "/")
    expect(page.locator("#presets-hint")).to_contain_text("Counted back from the newest paper")
    for label in ("Newest week", "Newest month", "Newest year"):
        page.get_by_role("link", name=label).click()
        page.wait_for_url(lambda url: "from=" in url)
        settled(page)
        expect(page.locator("#results-heading")).to_have_text(re.compile(r"^\d+ papers?"))
        expect(page.locator(HITS).first).to_be_visible()
        page.get_by_role("link", name="Any time").click()
        page.wait_for_url(site + "/")
        settled(page)


def test_a_typo_offers_the_corrected_search(site, page):
    page.goto(site + "/")
    search_for(page, "speculatve decodng")
    suggestion = page.locator(".did-you-mean a")
    expect(suggestion).to_have_text("speculative decoding")
    suggestion.click()
    page.wait_for_url(has_params(q="speculative decoding"))
    expect(page.locator("#q")).to_have_value("speculative decoding")
    expect(page.locator(HITS).first).to_contain_text(re.compile("speculative|decod", re.IGNORECASE))
    expect(page.locator(".did-you-mean")).to_have_count(0)


def test_keyboard_focus_lands_on_the_results_after_each_swap(site, page):
    page.goto(site + "/?q=language+models")  # no autofocus: the first Tab is the skip link
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to results")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # shown when focused
    page.keyboard.press("Enter")
    expect(page.locator("#results-heading")).to_be_focused()

    # Enter on "Next →": focus goes to the new results' heading, and Tab to the first result.
    page.locator("nav.pager a[rel=next]").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(has_params(page="2"))
    settled(page)
    expect(page.locator("#results-heading")).to_be_focused()
    page.keyboard.press("Tab")  # past the phone-only filters link, hidden here
    expect(page.locator("details.export summary")).to_be_focused()  # Download, beside the count
    page.keyboard.press("Tab")
    expect(page.locator("#results li.hit h3 a").first).to_be_focused()

    # A date preset, the same; a filter keeps focus on itself.
    page.get_by_role("link", name="Newest year").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "from=" in url)
    settled(page)
    expect(page.locator("#results-heading")).to_be_focused()
    page.locator("#sort").focus()
    page.keyboard.press("ArrowDown")  # a closed select changes its value on arrow keys
    page.wait_for_url(lambda url: "sort=" in url)
    settled(page)
    expect(page.locator("#sort")).to_be_focused()

    # The focus ring is clearly visible: a 3 px outline.
    page.keyboard.press("Tab")
    width = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
    assert width == "3px", width


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_on_a_phone_the_filters_open_as_a_panel_that_shows_its_results(
    site, new_context, javascript
):
    context = new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                          java_script_enabled=javascript)  # fmt: skip
    phone = context.new_page()
    phone.goto(site + "/?q=language+models")
    filters = phone.locator("#filters")
    expect(filters).to_be_hidden()  # not 10,000 px down the page: behind a control at the top
    toggle = phone.locator(".filters-toggle")
    assert toggle.bounding_box()["y"] < 400
    toggle.click()
    expect(filters).to_be_visible()
    expect(filters).to_be_in_viewport()

    phone.locator("#mode-keyword").check()
    if javascript:  # applied at once; the panel stays open and counts the new results
        phone.wait_for_url(has_params(mode="keyword"))
        settled(phone)
        expect(filters).to_be_visible()
        expect(phone.locator("#mode-keyword")).to_be_focused()
    else:
        phone.get_by_role("button", name="Apply filters").click()
        phone.wait_for_url(has_params(mode="keyword"))
        toggle.click()
    total = re.match(r"\d+", phone.locator("#results-heading").inner_text()).group()
    show = phone.locator(".show-results:not(.panel-top) a")
    expect(show).to_have_text(f"Show {total} results")
    show.click()
    expect(filters).to_be_hidden()
    expect(phone.locator("#results-heading")).to_be_in_viewport()
    expect(phone.locator(HITS).first).to_be_visible()

    toggle.click()  # and out again from the top of the panel, without scrolling to its end
    close = phone.get_by_role("link", name="Close filters")
    expect(close).to_be_in_viewport()
    close.click()
    expect(filters).to_be_hidden()

"""A newcomer never loses their place: typing leaves one history entry per settled search, the
paper page links back to the search it came from, and Back returns to the same scroll position,
with JavaScript and without."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_search_page import HIT_LINKS, has_params, search_for, settled

pytestmark = pytest.mark.browser


def test_typing_keeps_one_history_entry_and_a_pause_settles_a_search(site, page):
    page.goto(site + "/")
    start = page.evaluate("history.length")
    searches = []
    page.on("response", lambda r: r.request.headers.get("hx-request") and searches.append(r.url))
    # 0.4 s between keystrokes: most of them search (past the 300 ms delay), none settles.
    page.locator("#q").press_sequentially("kv cache", delay=400)
    page.wait_for_url(has_params(q="kv cache"))
    settled(page)
    assert len(searches) >= 3, searches  # searched as it was typed …
    assert page.evaluate("history.length") == start + 1  # … into one history entry

    page.go_back()
    page.wait_for_url(site + "/")
    expect(page.locator("#q")).to_have_value("")

    # A pause past a second keeps the search it settled on as its own entry.
    page.go_forward()
    page.wait_for_url(has_params(q="kv cache"))
    page.wait_for_timeout(1_200)
    search_for(page, "speculative decoding")
    assert page.evaluate("history.length") == start + 2
    page.go_back()
    page.wait_for_url(has_params(q="kv cache"))

    # Submitting, or changing a filter, always adds an entry.
    page.go_forward()
    page.wait_for_url(has_params(q="speculative decoding"))
    page.locator("#mode-keyword").check()
    page.wait_for_url(has_params(mode="keyword"))
    assert page.evaluate("history.length") == start + 3


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_paper_page_leads_back_to_its_search_at_the_same_place(site, new_context, javascript):
    page = new_context(viewport={"width": 1280, "height": 700}, java_script_enabled=javascript)
    page = page.new_page()
    page.goto(site + "/?q=language+models")
    hit = page.locator(HIT_LINKS).nth(12)
    hit.scroll_into_view_if_needed()  # instantly: clicking it scrolls no further
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 1000
    hit.click()
    page.wait_for_url(re.compile(r"/papers/\d+/"))

    back = page.get_by_role("link", name=re.compile("Back to results"))
    expect(back).to_contain_text("language models")
    assert back.get_attribute("href") == "/?q=language+models"

    page.go_back()
    page.wait_for_url(has_params(q="language models"))
    page.wait_for_function(f"() => Math.abs(window.scrollY - {scrolled}) < 5")

    # The link back lands in the same place too (with the script it is the Back button).
    hit.click()
    page.wait_for_url(re.compile(r"/papers/\d+/"))
    back.click()
    page.wait_for_url(has_params(q="language models"))
    expect(page.locator(HIT_LINKS).first).to_be_visible()
    if javascript:
        page.wait_for_function(f"() => Math.abs(window.scrollY - {scrolled}) < 5")


def test_a_paper_page_opened_directly_links_to_a_new_search(site, page):
    page.goto(site + "/")
    href = page.locator(HIT_LINKS).first.get_attribute("href")
    page.goto(site + href)
    expect(page.get_by_role("link", name="← Search papers")).to_have_attribute("href", "/")

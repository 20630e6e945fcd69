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

"""A search the server refuses for now (429 from the rate limit) keeps the results a person was
reading on screen and says why, instead of nothing happening."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ops.limits import Limit

pytestmark = pytest.mark.browser


def test_a_rate_limited_search_says_so_and_keeps_the_results(site, page, settings):
    settings.RATE_LIMIT = Limit.parse("2/minute", burst=None)  # the page, then one search
    page.goto(site + "/?q=serverless")
    box = page.locator("#q")
    box.fill("serverless federated")  # the second request: allowed
    page.wait_for_url(lambda url: "federated" in url)
    shown = page.locator("#results li.hit h3 a").all_inner_texts()
    box.fill("serverless federated learning")  # the third: refused
    notice = page.get_by_role("alert")
    expect(notice).to_contain_text("Too many searches from your address")
    expect(notice).to_contain_text("Try again in")
    assert page.locator("#results li.hit h3 a").all_inner_texts() == shown  # still there

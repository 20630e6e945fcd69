"""In the browser: liking a result reorders the list and survives a reload, a like can be
removed, it works without JavaScript, and a signed-in member judges a result in place."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from evaluation.models import Judgment
from tests.browser.test_search_page import has_params, settled, titles

pytestmark = pytest.mark.browser
QUERY = "/?q=serving+large+language+models"


def test_liking_a_result_reorders_the_list_and_survives_a_reload(site, page):
    page.goto(site + QUERY)
    before = titles(page)
    liked = before[3]
    page.get_by_role("link", name=f"More like {liked}").click()
    page.wait_for_url(re.compile(r"like=\d+"))
    settled(page)
    after = titles(page)
    assert liked not in after
    assert after != [t for t in before if t != liked]
    examples = page.locator(".examples .example.liked a").first
    expect(examples).to_have_text(liked)

    page.reload()
    assert titles(page) == after
    expect(page.locator(".examples .example.liked a").first).to_have_text(liked)

    page.get_by_role("link", name=f"Remove {liked} from the examples").click()
    page.wait_for_url(has_params(q="serving large language models"))
    settled(page)
    assert "like=" not in page.url
    assert titles(page) == before


def test_liking_works_without_javascript(site, new_context):
    page = new_context(java_script_enabled=False).new_page()
    page.goto(site + QUERY)
    liked = titles(page)[0]
    page.get_by_role("link", name=f"More like {liked}").click()
    page.wait_for_url(re.compile(r"like=\d+"))
    assert liked not in titles(page)
    expect(page.locator(".examples")).to_contain_text(liked)


def test_a_signed_in_member_judges_a_result_in_place(site, page, live_server):
    User.objects.create_user("ada", password="a long enough password")
    page.goto(site + QUERY)
    expect(page.get_by_role("button", name="Relevant", exact=True)).to_have_count(0)
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(has_params(q="serving large language models"))
    first = page.locator("#results li.hit").first
    page.evaluate("window.__marker = 1")
    first.get_by_role("button", name="Relevant", exact=True).click()
    expect(first.get_by_role("button", name="Relevant", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    assert page.evaluate("window.__marker") == 1  # judged in place: no page load
    judgment = Judgment.objects.get()
    assert judgment.query == "serving large language models" and judgment.relevant
    assert judgment.paper.title == titles(page)[0]

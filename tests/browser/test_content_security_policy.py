"""Every page works under the Content-Security-Policy (ops/csp.py), which forbids inline script,
inline style and eval: Chromium reports each blocked thing as a `securitypolicyviolation` event
and a console error, and there must be none, on the search page, through htmx swaps, on a paper
page and in the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from tests.browser.test_search_page import has_params, search_for, settled

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


@pytest.fixture
def watched(page: Page):
    """The page, recording CSP violations from its events and its console."""
    console = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    def violations() -> list[str]:
        return console + page.evaluate("window.__violations || []")

    page.violations = violations
    return page


def test_the_search_page_and_its_htmx_swaps_run_under_the_policy(site, watched):
    response = watched.goto(site + "/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    search_for(watched, "federated learning")
    watched.locator("#org-microsoft").check()  # a filter: app.js's filter-change event
    watched.wait_for_url(has_params(org="microsoft", q="federated learning"))
    settled(watched)
    watched.locator("#results li.hit h3 a").first.click()
    expect(watched.locator("h1")).to_be_visible()
    assert watched.violations() == []


def test_the_admin_runs_under_the_policy(site, watched):
    get_user_model().objects.create_superuser("editor", "editor@example.org", "a long password")
    watched.goto(site + "/admin/")
    expect(watched).to_have_url(site + "/admin/login/?next=/admin/")
    watched.fill("#id_username", "editor")
    watched.fill("#id_password", "a long password")
    watched.click("input[type=submit]")
    expect(watched.locator("#site-name")).to_be_visible()
    watched.goto(site + "/admin/papers/paper/")
    expect(watched.locator("#result_list")).to_be_visible()
    watched.locator("#result_list tbody th a").first.click()
    expect(watched.locator("#paper_form")).to_be_visible()
    assert watched.violations() == []


def test_a_violation_would_be_seen(site, watched):
    """The watch is not blind: an inline script on a page is reported."""
    watched.goto(site + "/api/")
    watched.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.ran = 1'; document.body.append(s); }"
    )
    watched.wait_for_function("() => window.__violations.length > 0")
    assert watched.evaluate("window.ran") is None
    assert any("script-src" in v for v in watched.violations())

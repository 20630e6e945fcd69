"""An axe-core audit (WCAG 2.x A and AA, and best practice) of the main pages in Chromium, held at
zero violations. axe-playwright-python bundles axe.js: nothing is downloaded."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.catalogue import INFINITE, paper

pytestmark = pytest.mark.browser

RULES = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
# Each page, and what shows that it is the page meant (a result list, a notice, an error).
PAGES = {
    "newest": ("/", "li.hit"),
    "search": ("/?q=aggregating+model+updates+without+an+always-on+server", "li.hit mark"),
    "filtered": ("/?org=microsoft&org=pekinguniversity&from=2024&sort=oldest", "li.hit"),
    "empty": ("/?q=qwzxjv&mode=keyword", ".empty"),
    "error": ("/?q=kv+cache&from=2024-13", "#from-error"),
}


def test_the_main_pages_have_no_accessibility_violations(site, page):
    pages = {name: (site + path, shown) for name, (path, shown) in PAGES.items()}
    pages["paper"] = (site + paper(INFINITE).get_absolute_url(), ".similar-list li a")
    axe = Axe()
    reports = {}
    for name, (url, shown) in pages.items():
        page.goto(url)
        expect(page.locator(shown).first).to_be_visible()
        # The Download and Cite menus are audited open, and the timeline's list of links shown.
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        if page.locator(".timeline-list a").count():
            page.locator(".timeline-list a").first.focus()
        results = axe.run(page, options=RULES)
        if results.violations_count:
            reports[name] = f"{name} page, {url}:\n{results.generate_report()}"
    assert not reports, "\n\n".join(reports.values())

"""Downloading a search or a paper, and narrowing a search by a bar of its timeline, in a real
Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import bibtexparser
import pytest
import rispy
from playwright.sync_api import expect

from tests.catalogue import INFINITE, paper

pytestmark = pytest.mark.browser


def test_the_download_menu_saves_the_search_as_bibtex(site, page):
    page.goto(site + "/?q=serverless+federated+learning")
    heading = page.locator("#results-heading")
    expect(heading).to_have_text(re.compile(r"^\d+ strong match"))
    strong = int(heading.inner_text().split()[0])
    page.get_by_text("Download", exact=True).click()
    with page.expect_download() as info:
        page.get_by_role("link", name="BibTeX").click()
    download = info.value
    assert download.suggested_filename == "papers-serverless-federated-learning.bib"
    library = bibtexparser.parse_string(Path(download.path()).read_text(encoding="utf-8"))
    assert not library.failed_blocks
    assert len(library.entries) == strong  # the strong matches, every page of them
    titles = [e["title"] for e in library.entries]
    assert titles[0] == page.locator("#results li.hit h3 a").first.inner_text()


def test_cite_on_the_paper_page_saves_ris_and_shows_bibtex(site, page):
    infinite = paper(INFINITE)
    page.goto(site + infinite.get_absolute_url())
    page.get_by_text("Cite", exact=True).click()
    expect(page.locator("#bibtex")).to_have_value(re.compile(r"^@misc\{"))
    with page.expect_download() as info:
        page.get_by_role("link", name="RIS").click()
    [entry] = rispy.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert entry["title"] == infinite.title


def test_a_timeline_bar_narrows_the_search_to_its_year(site, page):
    page.goto(site + "/")
    page.evaluate("window.__marker = 1")
    bar = page.locator("figure.timeline svg a").first
    label = bar.locator("title").text_content()  # "2024: 20 results"
    period, count = re.match(r"^(\d{4}): (\d+) results?$", label).groups()
    bar.click()
    expect(page).to_have_url(re.compile(rf"from={period}&to={period}"))
    expect(page.locator("#results-heading")).to_have_text(re.compile(rf"^{count} papers?\b"))
    expect(page.locator("#from")).to_have_value(period)
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"
    # Narrowed to one year, the timeline shows its months, which add up to the count.
    counts = [
        int(re.search(r": (\d+) result", t).group(1))
        for t in page.locator("figure.timeline svg a title").all_text_contents()
    ]
    assert sum(counts) == int(count)
    assert "per month" in page.locator("figure.timeline figcaption").inner_text()

"""Playwright fixtures: one headless Debian Chromium per session, a fresh context per test.

Playwright's sync API runs an asyncio event loop in the test thread, so Django's async-safety check
would refuse the ORM calls that fixtures make; the tests and the live server never share a
connection, so allowing it here is safe.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
TIMEOUT_MS = 15_000  # a search embeds the query with the real model: generous, never slept on


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def site(live_server, demo_catalogue_live) -> str:
    """The base URL of a live server with the demo catalogue, embedded."""
    return live_server.url


def _context(browser, **options):
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def new_context(browser) -> Iterator:
    """Make more browser contexts (other settings, or a second visitor); all closed afterwards."""
    contexts = []

    def make(**options):
        contexts.append(_context(browser, **options))
        return contexts[-1]

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    return new_context(viewport={"width": 1280, "height": 900}).new_page()

"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import pytest

from tests.chromium import CHROMIUM


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (the modules that use it skip without Chromium)."""
    try:
        import playwright.sync_api as playwright_api
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[dev]'", pytrace=False)

    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()

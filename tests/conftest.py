"""Shared fixtures: small model sizes for unit tests, and headless Chromium for browser tests."""

import os
from pathlib import Path

import pytest

SMALL = {"n_users": 200, "n_annotators": 30, "n_responses": 256}
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def small():
    """Overrides that make a model small enough for a unit test."""
    return dict(SMALL)


@pytest.fixture
def chromium():
    """Debian's headless Chromium driven by Playwright (no browser download).

    Skipped on a developer machine without it; under CI (which installs it) its absence fails.
    """
    if not CHROMIUM.exists():
        message = "needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()

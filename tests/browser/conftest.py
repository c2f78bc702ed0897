"""A real headless Chromium (Debian's package) driven by Playwright, against the live server."""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("YUMIAO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    """Module-scoped: sync Playwright owns the thread's event loop while it runs, so it is closed after
    the browser tests instead of lingering into the rest of the suite."""
    if not CHROMIUM:
        if os.environ.get("YUMIAO_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (YUMIAO_REQUIRE_BROWSER=1) but was not found")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    ctx.close()

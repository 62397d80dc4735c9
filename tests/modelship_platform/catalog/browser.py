"""Headless Debian Chromium driven by PyPI's playwright (never ``playwright install``)."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager

import pytest

#: Debian's chromium (``make tools`` installs it); MODELSHIP_CHROMIUM names another build
#: (a CI runner's google-chrome, say)
CHROMIUM = os.environ.get("MODELSHIP_CHROMIUM") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@contextmanager
def chromium():
    """A headless browser; the test is skipped when Chromium is absent (``make tools``
    installs it)."""
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no {CHROMIUM}: run make tools (or set MODELSHIP_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(browser, catalog: str, email: str, password: str):
    """A new browser context (its own cookies), signed in through the login form."""
    context = browser.new_context(base_url=catalog, accept_downloads=True)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{catalog}/")
    return page

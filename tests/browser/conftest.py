"""Headless Chromium (Debian's package) driven by Playwright, for the HTML reports.

CI installs the browser (`.ci/run`: apt-get install chromium); a machine without it fails
these tests with the command to run, it never skips them. Each session gets a fresh
profile directory.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, sync_playwright

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Debian's chromium is needed: apt-get install -y chromium (CI's .ci/run does)")
    return found


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    profile = tmp_path_factory.mktemp("chromium-profile")  # --user-data-dir, fresh
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium_path(),
            headless=True,  # Playwright adds --headless
            args=FLAGS,
            viewport={"width": 1300, "height": 1800},
        )
        yield context
        context.close()

"""Debian's Chromium for the browser tests, started with the flags this machine needs.

Browser tests must run in CI (`CI` set): there a missing Chromium fails them. Elsewhere
it skips them with a message saying how to get it (`make test` as root installs it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, Playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"{CHROMIUM} is missing: run `make test` as root or `apt-get install -y chromium`"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


async def launch(playwright: Playwright) -> Browser:
    """Chromium as the tests drive it; call `require_chromium()` first, before any setup."""
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

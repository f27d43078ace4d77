"""The case pages in headless Chromium: the intake form keeps what was typed when a field is
wrong, the case opens with its history, hostile text stays text, the register finds it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import BaseTestServer, TestServer
from playwright.async_api import Page, async_playwright, expect

from accounts.users import UserRepository
from config.settings import load_settings
from hotline.app import create_app
from runtime.clock import ManualClock
from tests.browser import launch, require_chromium
from tests.cases.factories import NOW
from tests.passwords import password_hash
from web.keys import db_key

pytestmark = pytest.mark.browser

PASSWORD = "pass phrase for tests"
EVIL = "<img src=x onerror=alert(1)>"


@pytest_asyncio.fixture(loop_scope="function")
async def page(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[tuple[Page, BaseTestServer]]:
    require_chromium()
    app = create_app(
        load_settings(database_url=fresh_db_url, data_dir=tmp_path), clock=ManualClock(NOW)
    )
    async with TestServer(app) as server, async_playwright() as playwright:
        await UserRepository(app[db_key].pool).create(
            username="boss",
            display_name="หัวหน้า",
            password_hash=await password_hash(PASSWORD),
            role="supervisor",
        )
        browser = await launch(playwright)
        context = await browser.new_context(locale="th-TH")
        tab = await context.new_page()
        dialogs: list[str] = []
        tab.on("dialog", lambda d: dialogs.append(d.message))
        try:
            yield tab, server
        finally:
            await context.close()
            await browser.close()
        assert dialogs == [], "a script ran from caller text"


async def test_intake_errors_keep_the_input_and_the_case_opens(
    page: tuple[Page, BaseTestServer],
) -> None:
    tab, server = page
    await tab.goto(str(server.make_url("/login")))
    await tab.fill("input[name=username]", "boss")
    await tab.fill("input[name=password]", PASSWORD)
    await tab.click("button[type=submit]")
    await tab.goto(str(server.make_url("/cases/new")))
    await tab.select_option("select[name=channel]", "phone")
    await tab.select_option("select[name=case_type]", "complaint")
    await tab.fill("textarea[name=details]", EVIL + " ท่อแตก")
    await tab.fill("input[name=contact_name]", "สมชาย ใจดี")
    await tab.click("form[action='/cases/new'] button[type=submit]")
    await expect(tab.locator("[data-field=topic]")).to_be_visible()
    await expect(tab.locator("textarea[name=details]")).to_have_value(EVIL + " ท่อแตก")
    await expect(tab.locator("input[name=contact_name]")).to_have_value("สมชาย ใจดี")

    await tab.fill("input[name=topic]", EVIL)
    await tab.click("form[action='/cases/new'] button[type=submit]")
    await expect(tab.locator("h1")).to_contain_text("HL-2569-000001")
    await expect(tab.locator(".topic")).to_have_text(EVIL)
    await expect(tab.locator("tr.event")).to_have_count(1)
    if os.environ.get("HOTLINE_SCREENSHOTS"):
        await tab.screenshot(path=os.environ["HOTLINE_SCREENSHOTS"] + "/case.png", full_page=True)

    await tab.goto(str(server.make_url("/cases?q=000001")))
    await expect(tab.locator("tr.case-row")).to_have_count(1)
    if os.environ.get("HOTLINE_SCREENSHOTS"):
        await tab.screenshot(
            path=os.environ["HOTLINE_SCREENSHOTS"] + "/register.png", full_page=True
        )

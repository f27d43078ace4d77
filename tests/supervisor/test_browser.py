"""The live board in headless Chromium, fed by the PBX simulator over AMI as in production:
TelephonyService -> Floor.handle, the board page polling its JSON."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Dialog, Page, async_playwright, expect

from accounts.users import UserRepository
from calls.repository import CallRepository
from calls.tracker import CallTracker
from config.settings import load_settings
from hotline.app import create_app
from pbxsim import AgentPhone, PbxSimulator
from telephony.config import PbxConfig
from telephony.events import PbxSnapshot, TelephonyEvent
from telephony.service import TelephonyService
from tests.browser import launch, require_chromium
from tests.passwords import password_hash
from web.keys import db_key, floor_key

pytestmark = pytest.mark.browser

QUEUE = "1169"
ANAN = "PJSIP/agent101"
BUSABA = "PJSIP/agent102"
EVIL = "<img src=x onerror=alert(1)>"
PASSWORD = "correct horse battery"


@dataclass
class Board:
    sim: PbxSimulator
    page: Page
    dialogs: list[str]


@pytest_asyncio.fixture(loop_scope="function")
async def board(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[Board]:
    require_chromium()
    sim = PbxSimulator()
    sim.add_queue(QUEUE)
    sim.add_member(QUEUE, ANAN, "Anan", phone=AgentPhone.manual())
    sim.add_member(QUEUE, BUSABA, "Busaba", phone=AgentPhone.manual())
    sim.pause(BUSABA, True, "lunch")
    host, port = await sim.start()
    app = create_app(load_settings(database_url=fresh_db_url, data_dir=tmp_path))
    telephony = TelephonyService(
        [PbxConfig(name="sim", host=host, port=port, username="hotline", secret="hotline")]
    )
    async with TestServer(app) as server, async_playwright() as playwright:
        pool = app[db_key].pool
        telephony.subscribe(CallTracker(CallRepository(pool)).handle)
        telephony.subscribe(app[floor_key].handle)
        synced = asyncio.Event()

        async def on_snapshot(event: TelephonyEvent) -> None:
            if isinstance(event, PbxSnapshot):
                synced.set()

        telephony.subscribe(on_snapshot)
        await UserRepository(pool).create(
            username="boss",
            display_name="Boss",
            password_hash=await password_hash(PASSWORD),
            role="supervisor",
            language="en",
        )
        await telephony.start()
        browser: Browser = await launch(playwright)
        try:
            await asyncio.wait_for(synced.wait(), 10)
            page = await browser.new_page()
            dialogs: list[str] = []

            async def on_dialog(dialog: Dialog) -> None:
                dialogs.append(dialog.message)
                await dialog.dismiss()

            page.on("dialog", on_dialog)
            await page.goto(str(server.make_url("/login?next=/supervisor")))
            await page.fill("input[name=username]", "boss")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(re.compile(r"/supervisor$"))
            yield Board(sim, page, dialogs)
        finally:
            await browser.close()
            await telephony.stop()
            await sim.stop()


async def test_the_board_follows_a_call_and_shows_names_as_text(board: Board) -> None:
    page = board.page
    agents = page.locator("#live-agents")
    await expect(agents.locator("tr", has_text="Busaba")).to_contain_text(
        "Paused (Lunch)"
    )  # the pause code, translated
    await expect(agents.locator("tr", has_text="Anan")).to_contain_text("Ready")

    await board.sim.place_call(QUEUE, "0812345678", EVIL)
    waiting = page.locator("#live-queues .sup-waiting li")
    await expect(waiting).to_have_count(1, timeout=10_000)
    await expect(waiting.first).to_contain_text(EVIL)  # the name, shown as text
    assert await page.locator("#live img").count() == 0

    await board.sim.answer(ANAN)
    await expect(agents.locator("tr", has_text="Anan")).to_contain_text("In call", timeout=10_000)
    await expect(waiting).to_have_count(0)
    await expect(page.locator("#today-body tr").first).to_contain_text("1169", timeout=10_000)
    assert board.dialogs == []

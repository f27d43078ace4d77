"""The agent panel in real headless Chromium, against the real service, the PBX simulator
over TCP and PostgreSQL: log in, go ready, a call pops, phases, hold, wrap-up, intake."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import (
    Browser,
    Dialog,
    Page,
    WebSocketRoute,
    async_playwright,
    expect,
)

from accounts.users import UserRepository
from mail.outbox import OutgoingMail
from pbxsim import AgentPhone, PbxSimulator
from runtime.clock import SystemClock
from telephony.events import PbxSnapshot, TelephonyEvent
from tests.browser import launch, require_chromium
from tests.passwords import password_hash
from tests.ui.conftest import PASSWORD, build_app
from web.keys import db_key, event_subscribers_key, mail_outbox_key

pytestmark = pytest.mark.browser

QUEUE = "1169"
AGENT = "PJSIP/agent101"
NUMBER = "0812345678"
EVIL = "<img src=x onerror=alert(1)>"


@dataclass
class Live:
    sim: PbxSimulator
    server: TestServer
    page: Page
    dialogs: list[str]

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


@pytest_asyncio.fixture(loop_scope="function")
async def live(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    require_chromium()
    sim = PbxSimulator()
    sim.add_queue(QUEUE)
    sim.set_agent_phone(AGENT, AgentPhone.manual())
    host, port = await sim.start()
    app = build_app(
        fresh_db_url,
        tmp_path,
        SystemClock(),
        pbx=[
            {"name": "sim", "host": host, "port": port, "username": "hotline", "secret": "hotline"}
        ],
        greeting_max_s=3,
        inquiry_min_s=0,
        inquiry_max_s=60,
        closing_max_s=30,
        wrapup_s=120,
    )
    synced = asyncio.Event()

    async def on_snapshot(event: TelephonyEvent) -> None:
        if isinstance(event, PbxSnapshot):
            synced.set()

    app[event_subscribers_key].append(on_snapshot)
    async with TestServer(app) as server, async_playwright() as playwright:
        await UserRepository(app[db_key].pool).create(
            username="somchai",
            display_name="Somchai",
            password_hash=await password_hash(PASSWORD),
            role="agent",
            pbx="sim",
            interface=AGENT,
            language="en",
            queues=(QUEUE,),
        )
        browser: Browser = await launch(playwright)
        try:
            await asyncio.wait_for(synced.wait(), 10)
            page = await browser.new_page()
            dialogs: list[str] = []

            async def on_dialog(dialog: Dialog) -> None:
                dialogs.append(dialog.message)
                await dialog.dismiss()

            page.on("dialog", on_dialog)
            yield Live(sim, server, page, dialogs)
        finally:
            await browser.close()
    await sim.stop()


async def log_in(live: Live) -> Page:
    page = live.page
    await page.goto(live.url("/login?next=/panel"))
    await page.fill("input[name=username]", "somchai")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(r"/panel$"))
    return page


async def log_in_and_go_ready(live: Live) -> Page:
    page = await log_in(live)
    await page.click("button[data-availability=ready]")
    await expect(page.get_by_test_id("availability")).to_have_attribute("data-state", "ready")
    return page


async def test_a_call_from_ring_to_wrapup_and_the_case_at_the_next_call(live: Live) -> None:
    page = await log_in_and_go_ready(live)
    call = await live.sim.place_call(QUEUE, NUMBER, "Nok")
    await expect(page.get_by_test_id("caller-number")).to_have_text(NUMBER)
    await expect(page.get_by_test_id("caller-name")).to_have_text("Nok")
    await expect(page.locator("#new-caller")).to_be_visible()
    await expect(page.locator("input[name=contact_phone]")).to_have_value(NUMBER)

    await live.sim.answer(AGENT)
    greeting = page.get_by_test_id("phase-greeting")
    await expect(greeting).to_have_attribute("data-colour", "green")
    await expect(page.locator("#script-greeting")).to_be_visible()
    await expect(page.locator("#wrapup")).to_be_hidden()
    for colour in ("amber", "red"):
        await page.wait_for_function(
            "colour => document.getElementById('phase-greeting').dataset.colour === colour",
            arg=colour,
            polling="raf",
        )

    await page.keyboard.press("Alt+n")
    await expect(page.get_by_test_id("phase-inquiry")).to_have_class(re.compile("current"))
    await expect(page.get_by_test_id("phase-inquiry")).to_have_attribute("data-colour", "green")
    await live.sim.hold(call)
    await expect(page.get_by_test_id("call-status")).to_have_text("On hold")
    await live.sim.unhold(call)
    await expect(page.get_by_test_id("call-status")).to_have_text("Talking")
    await page.click("#next-phase")
    await expect(page.locator("#script-closing")).to_be_visible()

    await page.select_option("select[name=case_type]", "complaint")
    await page.fill("textarea[name=details]", "The meter reads double")
    await page.fill("input[name=occupation]", "farmer")
    await page.select_option("select[name=notify_by]", "sms")
    await page.click("#intake button[type=submit]")
    await expect(page.locator('[data-error-for="topic"]')).to_have_text("Required")
    await expect(page.locator("textarea[name=details]")).to_have_value("The meter reads double")
    await page.fill("input[name=topic]", "Water bill too high")
    await page.click("#intake button[type=submit]")
    await expect(page.get_by_test_id("intake-result")).to_contain_text("HL-")
    reference = (await page.get_by_test_id("intake-result").text_content() or "").split(": ")[-1]
    notify_by = await live.server.app[db_key].pool.fetchval(
        "SELECT notify_by FROM cases WHERE reference = $1", reference
    )
    assert notify_by == "sms"

    await live.sim.hangup(call)
    await expect(page.get_by_test_id("call-status")).to_have_text("Wrap-up")
    await expect(page.get_by_test_id("wrapup-timer")).to_have_text(re.compile(r"0:0[1-9]"))
    await page.select_option("#wrapup-code", "case_opened")
    await page.click("#end-wrapup")
    await expect(page.locator("#idle")).to_be_visible()

    await live.server.app[mail_outbox_key].enqueue(
        OutgoingMail("nok@example.org", "Meter reading form", "t", caller_number=NUMBER)
    )
    await page.reload()
    await live.sim.place_call(QUEUE, NUMBER, "Nok")
    await expect(page.get_by_test_id("history-cases")).to_contain_text(reference)
    await expect(page.get_by_test_id("history-mails")).to_contain_text("Meter reading form")
    await expect(page.get_by_test_id("history-mails")).to_contain_text("Queued")
    await expect(page.get_by_test_id("history-cases")).to_contain_text("Water bill too high")
    await expect(page.get_by_test_id("history-calls")).to_contain_text("Somchai")
    await expect(page.locator("#profile-occupation")).to_have_text("farmer")
    be_year = str(datetime.now(UTC).year + 543)
    await expect(page.get_by_test_id("history-calls")).to_contain_text(be_year)
    await page.reload()
    await expect(page.get_by_test_id("caller-number")).to_have_text(NUMBER)

    row = await live.server.app[db_key].pool.fetchrow(
        "SELECT greeting_s, inquiry_s, closing_s, wrapup_s FROM calls "
        "WHERE caller_number = $1 ORDER BY joined_at LIMIT 1",
        NUMBER,
    )
    assert row["greeting_s"] > 3
    assert row["inquiry_s"] is not None and row["closing_s"] is not None
    assert row["wrapup_s"] is not None


async def test_a_hostile_caller_name_is_shown_as_text_and_nothing_runs(live: Live) -> None:
    page = await log_in_and_go_ready(live)
    await live.sim.place_call(QUEUE, NUMBER, EVIL)
    await expect(page.get_by_test_id("caller-name")).to_have_text(EVIL)
    await expect(page.locator("#profile-name")).to_have_text("")
    assert await page.locator("#call img").count() == 0
    await page.reload()
    await expect(page.get_by_test_id("caller-name")).to_have_text(EVIL)
    await expect(page.locator("input[name=contact_name]")).to_have_value(EVIL)
    await page.goto(live.url("/lang/th?next=/panel"))
    await expect(page.get_by_test_id("availability")).to_have_text("พร้อมรับสาย")
    await expect(page.get_by_test_id("caller-name")).to_have_text(EVIL)
    assert live.dialogs == []


async def _until_the_desk_holds_a_call(page: Page, live: Live) -> None:
    """The pop reached the agent's desk on the server (the page's own link is down)."""
    async with asyncio.timeout(10):
        while True:
            state = await (await page.request.get(live.url("/panel/state"))).json()
            if state["desk"]["call"] is not None:
                return
            await asyncio.sleep(0.05)


async def test_a_dropped_link_reconnects_and_replays_what_it_missed(live: Live) -> None:
    routes: list[WebSocketRoute] = []
    missed_pop_sent = asyncio.Event()

    async def through(ws: WebSocketRoute) -> None:
        if routes:
            await missed_pop_sent.wait()
        routes.append(ws)
        ws.connect_to_server()

    await live.page.route_web_socket(re.compile(r"/panel/ws"), through)
    page = await log_in_and_go_ready(live)
    await routes[0].close()
    await expect(page.locator("#link-lost")).to_be_visible()
    await live.sim.place_call(QUEUE, NUMBER, "Nok")
    await _until_the_desk_holds_a_call(page, live)
    missed_pop_sent.set()
    await expect(page.get_by_test_id("caller-number")).to_have_text(NUMBER)
    await expect(page.locator("#link-lost")).to_be_hidden()
    assert len(routes) == 2


async def test_pauses_go_to_the_pbx_and_pbx_side_pauses_show_live(live: Live) -> None:
    page = await log_in_and_go_ready(live)
    await page.select_option("#pause-reason", "training")
    await page.click("button[data-availability=paused]")
    await expect(page.get_by_test_id("availability")).to_have_attribute("data-state", "paused")
    await expect(page.locator("#state-reason")).to_have_text("Training")
    member = next(m for m in live.sim.members(QUEUE) if m.interface == AGENT)
    assert (member.paused, member.paused_reason) == (True, "training")
    live.sim.pause(AGENT, paused=True, reason="<b>coffee</b>")
    await expect(page.locator("#state-reason")).to_have_text("<b>coffee</b>")
    live.sim.pause(AGENT, paused=False)
    await expect(page.get_by_test_id("availability")).to_have_attribute("data-state", "ready")
    await page.click("button[data-availability=logged_out]")
    await expect(page.get_by_test_id("availability")).to_have_attribute("data-state", "logged_out")
    assert all(m.interface != AGENT for m in live.sim.members(QUEUE))


def _member(live: Live) -> Any:
    return next((m for m in live.sim.members(QUEUE) if m.interface == AGENT), None)


async def _pbx(live: Live, check: Callable[[Any], bool]) -> None:
    """Wait until the simulator's member (or its absence) passes `check`."""
    for _ in range(200):
        if check(_member(live)):
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"the PBX never got there: {_member(live)}")


async def test_a_shift_signs_in_pauses_with_a_code_wraps_up_with_a_code_and_signs_out(
    live: Live,
) -> None:
    page = await log_in(live)
    state = page.get_by_test_id("availability")
    await expect(state).to_have_attribute("data-state", "paused")
    await expect(page.locator("#state-reason")).to_have_text("Signed in, not ready yet")
    await _pbx(live, lambda m: m is not None and m.paused and m.paused_reason == "login")

    await page.select_option("#pause-reason", "coaching")
    await page.click("button[data-availability=paused]")
    await expect(page.locator("#state-reason")).to_have_text("Coaching")
    await _pbx(live, lambda m: m.paused_reason == "coaching")

    await page.click("button[data-availability=ready]")
    await expect(state).to_have_attribute("data-state", "ready")
    call = await live.sim.place_call(QUEUE, NUMBER, "Nok")
    await live.sim.answer(AGENT)
    await expect(page.get_by_test_id("call-status")).to_have_text("Talking")
    await live.sim.hangup(call)
    await expect(page.get_by_test_id("call-status")).to_have_text("Wrap-up")
    await expect(page.locator("#state-reason")).to_have_text("Wrap-up")
    await _pbx(live, lambda m: m.paused and m.paused_reason == "wrapup")
    await page.click("#end-wrapup")
    await expect(page.locator("#wrapup-error")).to_be_visible()
    await page.select_option("#wrapup-code", "follow_up")
    await page.click("#end-wrapup")
    await expect(page.locator("#idle")).to_be_visible()
    await expect(state).to_have_attribute("data-state", "ready")
    await _pbx(live, lambda m: not m.paused)
    code = await live.server.app[db_key].pool.fetchval("SELECT wrapup_code FROM calls")
    assert code == "follow_up"

    await page.get_by_test_id("sign-out-queues").click()
    await expect(state).to_have_attribute("data-state", "logged_out")
    await _pbx(live, lambda m: m is None)
    await page.click("button[data-availability=ready]")
    await _pbx(live, lambda m: m is not None)
    await page.click("form[action='/logout'] button")
    await page.wait_for_url(re.compile(r"/login$"))
    await _pbx(live, lambda m: m is None)
    assert live.dialogs == []

"""Recordings in real headless Chromium, against the real service, the PBX simulator over TCP
and PostgreSQL: the agent mutes from the panel, a supervisor plays the call in an <audio>
element (by range requests), the play is in the PDPA log, and another agent gets 403."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, Request, async_playwright, expect

from calls.recordings import PLAY_PURPOSE
from tests.browser import launch, require_chromium
from tests.ui.conftest import PASSWORD
from tests.ui.test_recordings import Recorded, ended_call, on_the_phone, recorded, recording_row
from tests.waiting import until_true

__all__ = ["recorded"]
pytestmark = pytest.mark.browser


async def signed_in(browser: Browser, recorded: Recorded, username: str, path: str) -> Page:
    page = await (await browser.new_context()).new_page()
    await page.goto(str(recorded.server.make_url(f"/login?next={path}")))
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(re.escape(path) + "$"))
    return page


async def test_the_agent_mutes_from_the_panel(recorded: Recorded) -> None:
    require_chromium()
    await recorded.somchai.post("/panel/availability", availability="paused")
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        page = await signed_in(browser, recorded, "somchai", "/panel")
        call, call_key = await on_the_phone(recorded)
        await recording_row(recorded, call_key, "started_at")
        mute = page.get_by_test_id("recording-mute")
        await expect(mute).to_be_visible()
        await mute.click()
        await expect(mute).to_have_attribute("aria-pressed", "true")
        await mute.click()
        await expect(mute).to_have_attribute("aria-pressed", "false")
        await browser.close()
    sent = [
        r.message["State"]
        for r in recorded.sim.server.actions
        if r.message.get("Action") == "MixMonitorMute"
    ]
    assert sent == ["1", "0"]
    await recorded.sim.hangup(call)


async def test_a_supervisor_plays_the_call_and_another_agent_may_not(recorded: Recorded) -> None:
    require_chromium()
    call_id, _ = await ended_call(recorded)
    await recorded.person("ploy", "supervisor")
    path = f"/calls/{call_id}/recording"
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        page = await signed_in(browser, recorded, "ploy", "/supervisor")
        ranges: list[str] = []

        def seen(request: Request) -> None:
            if "recording.wav" in request.url:
                ranges.append(request.headers.get("range", ""))

        page.on("request", seen)
        await page.goto(str(recorded.server.make_url(path)))
        audio = page.get_by_test_id("recording-audio")
        await expect(audio).to_be_visible()
        await page.wait_for_function(
            "() => document.querySelector('audio').readyState >= 1"
            " && document.querySelector('audio').duration > 0"
        )
        assert any(r.startswith("bytes=") for r in ranges), ranges
        other = await signed_in(browser, recorded, "malee", "/panel")
        response = await other.goto(str(recorded.server.make_url(path)))
        assert response is not None and response.status == 403
        await browser.close()

    async def plays() -> int:
        return int(
            await recorded.pool.fetchval(
                "SELECT count(*) FROM pdpa_view_log WHERE purpose = $1 AND subject = $2",
                PLAY_PURPOSE,
                f"call {call_id}",
            )
        )

    assert await until_true(plays, within=5) >= 1

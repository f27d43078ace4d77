"""Listen in from a supervisor's browser: real headless Chromium against the real service,
the PBX simulator over AMI and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.browser import launch, require_chromium
from tests.foundation.conftest import PASSWORD
from tests.supervisor.spy_site import AGENT, SUPERVISOR_PHONE, SpySite, spy_site
from tests.waiting import until

__all__ = ["spy_site"]
pytestmark = pytest.mark.browser


async def log_in(page: Page, site: SpySite, username: str) -> None:
    await page.goto(str(site.server.make_url("/login?next=/supervisor/spies")))
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(r"/supervisor/spies$"))


async def test_a_supervisor_clicks_listen_and_hears_the_call_until_it_ends(
    spy_site: SpySite,
) -> None:
    require_chromium()
    call, call_key = await spy_site.talking_call()
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            page = await browser.new_page()
            await log_in(page, spy_site, "suda")
            row = page.locator(f'#spy-calls tr[data-call-key="{call_key}"]')
            await expect(row).to_contain_text("Anan")
            await row.locator("button[data-spy-mode=listen]").click()
            await page.wait_for_url(re.compile(r"/supervisor/spies$"))
            live = page.locator(f'#spy-live tr[data-call-key="{call_key}"]')
            await expect(live).to_have_attribute("data-mode", "listen")
            await expect(live).to_contain_text("Suda")
            sent = await spy_site.sim.wait_for_action("Originate")
            assert (sent["Channel"], sent["Application"], sent["Data"]) == (
                SUPERVISOR_PHONE,
                "ChanSpy",
                f"{AGENT}-,qE",
            )
            await expect(page.locator('#spy-audit tr[data-action="start"]')).to_contain_text("Anan")
            await spy_site.sim.wait_for_event("ChanSpyStart", SpyerUniqueid=sent["ChannelId"])
            await spy_site.sim.hangup(call, by="caller")
            await spy_site.sim.wait_for_event("Hangup", Uniqueid=sent["ChannelId"])
            await until(lambda: len(spy_site.answered) == 1, within=1)
            await page.reload()
            await expect(page.locator("#spy-none")).to_be_visible()
            await expect(page.locator('#spy-audit tr[data-action="ended"]')).to_contain_text(
                "the call ended"
            )
        finally:
            await browser.close()
    audit = await spy_site.audit()
    assert [(r["action"], r["mode"], r["agent_id"]) for r in audit] == [
        ("start", "listen", spy_site.agent.id),
        ("ended", "listen", spy_site.agent.id),
    ]

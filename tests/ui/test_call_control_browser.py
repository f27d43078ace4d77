"""Call control, the ring alert, call back and the intake across two calls, in real headless
Chromium against the real service, the PBX simulator over TCP and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import Page, expect

from accounts.users import UserRepository
from cases.intake import IntakeForm
from cases.lifecycle import Role
from cases.models import Actor
from pbxsim import CustomerPhone
from pbxsim.templates import event
from tests.passwords import password_hash
from tests.ui.conftest import PASSWORD
from tests.ui.test_browser import AGENT, NUMBER, QUEUE, Live, live, log_in_and_go_ready
from tests.waiting import until_true
from web.keys import call_writer_key, db_key, intake_key

__all__ = ["live"]
pytestmark = pytest.mark.browser

OTHER_NUMBER = "0899999999"


async def stored(live: Live, sql: str, *args: Any) -> Any:
    """A value from the database, once it is there (the panel stores behind the scenes)."""
    pool = live.server.app[db_key].pool
    async with asyncio.timeout(10):
        while True:
            await live.server.app[call_writer_key].flush()
            value = await pool.fetchval(sql, *args)
            if value is not None:
                return value
            await asyncio.sleep(0.05)


async def add_colleague(live: Live) -> None:
    await UserRepository(live.server.app[db_key].pool).create(
        username="malee",
        display_name="Malee",
        password_hash=await password_hash(PASSWORD),
        role="agent",
        pbx="sim",
        interface="PJSIP/agent102",
        language="en",
        queues=(QUEUE,),
    )


async def talking(live: Live, number: str = NUMBER) -> Page:
    page = await log_in_and_go_ready(live)
    await live.sim.place_call(QUEUE, number, "Nok")
    await expect(page.get_by_test_id("caller-number")).to_have_text(number)
    await live.sim.answer(AGENT)
    await expect(page.get_by_test_id("call-controls")).to_be_visible()
    return page


async def test_blind_transfer_to_a_colleague_from_the_panel(live: Live) -> None:
    await add_colleague(live)
    page = await talking(live)
    await expect(page.locator(".hold-note")).to_contain_text("Hold is on your phone")
    if os.environ.get("HOTLINE_SCREENSHOTS"):  # the README's picture of the panel
        await page.screenshot(path=os.environ["HOTLINE_SCREENSHOTS"] + "/screenshot-panel.png")
    await page.select_option("#transfer-agent", "2102")
    await page.click("#blind-transfer")
    await expect(page.get_by_test_id("call-status")).to_have_text("Wrap-up")
    await expect(page.get_by_test_id("call-controls")).to_be_hidden()
    hung_up_by = await stored(
        live, "SELECT hung_up_by FROM calls WHERE transferred_to = '2102' AND ended_at IS NOT NULL"
    )
    assert hung_up_by == "transfer"


async def test_attended_transfer_without_a_feature_code_is_refused_clearly(live: Live) -> None:
    """An Asterisk without an `atxfer` code refuses; a channel keeps the map it began with."""
    live.sim.core.atxfer_code = None
    page = await talking(live)
    await page.select_option("#transfer-kind", "outside")
    await page.fill("#transfer-number", "081-222-3333")
    await page.click("#attended-transfer")
    await expect(page.get_by_test_id("call-control-error")).to_contain_text("atxfer")
    await expect(page.get_by_test_id("call-status")).to_have_text("Talking")


async def consulting(live: Live) -> None:
    """Wait for the consultation's Local leg: Asterisk dials it after the digit timeout."""

    async def dialled() -> bool:
        return any(ch.name.startswith("Local/") for ch in live.sim.core.channels.values())

    await until_true(dialled, within=10.0)


async def test_attended_transfer_refused_then_cancelled_then_completed(live: Live) -> None:
    await add_colleague(live)
    live.sim.core.atxfer_code = "*2"
    page = await talking(live)
    await page.select_option("#transfer-kind", "outside")
    await page.fill("#transfer-number", "12ab")
    await page.click("#attended-transfer")
    await expect(page.get_by_test_id("call-control-error")).to_have_text(
        "Not a valid number: 9–10 digits starting with 0."
    )
    await page.select_option("#transfer-kind", "agent")
    await page.select_option("#transfer-agent", "2102")
    await page.click("#attended-transfer")
    await expect(page.get_by_test_id("consultation")).to_contain_text("2102")
    await expect(page.get_by_test_id("call-control-error")).to_be_hidden()
    await consulting(live)
    await page.click("#cancel-transfer")
    await expect(page.get_by_test_id("consultation")).to_be_hidden()
    await expect(page.get_by_test_id("call-status")).to_have_text("Talking")

    await page.click("#attended-transfer")
    await consulting(live)
    await page.click("#complete-transfer")
    await expect(page.get_by_test_id("call-status")).to_have_text("Wrap-up")
    target = await stored(
        live,
        "SELECT transferred_to || ' ' || transfer_kind || ' ' || transfer_destination"
        " FROM calls WHERE hung_up_by = 'transfer'",
    )
    assert target == "2102 attended agent"


async def test_the_agent_hangs_up_from_the_panel(live: Live) -> None:
    page = await talking(live)
    await page.click("#hang-up")
    await expect(page.get_by_test_id("call-status")).to_have_text("Wrap-up")
    assert await stored(live, "SELECT hung_up_by FROM calls WHERE ended_at IS NOT NULL") == "agent"


def callback_request(uniqueid: str, number: str, queue: str = QUEUE) -> list[tuple[str, str]]:
    """The overflow's UserEvent as the shipped dialplan sends it."""
    return event(
        "UserEvent",
        "user,all",
        [("Channel", "PJSIP/trunk-00000031"), ("CallerIDNum", number)],
        [("Uniqueid", uniqueid), ("Linkedid", uniqueid), ("UserEvent", "CallbackRequest")],
        [("Queue", queue), ("Number", number), ("Uniqueid", uniqueid)],
    )


async def test_a_callback_request_is_called_back_and_marked_done(live: Live) -> None:
    page = await log_in_and_go_ready(live)
    live.sim.emit(callback_request("1796203390.7", NUMBER))
    live.sim.emit(callback_request("1796203390.9", "<script>"))
    request_id = await stored(
        live, "SELECT id FROM callback_requests WHERE call_key LIKE '%1796203390.7'"
    )
    await stored(live, "SELECT id FROM callback_requests WHERE raw_number = '<script>'")
    await page.reload()
    requests = page.get_by_test_id("callback-requests")
    await expect(requests).to_contain_text(NUMBER)
    await expect(requests).to_contain_text("<script>")
    assert await requests.locator("button").count() == 1

    live.sim.set_customer_phone("PJSIP/agent101", CustomerPhone.busy())
    await requests.locator(f'button[data-request="{request_id}"]').click()
    await expect(page.get_by_test_id("call-control-error")).to_have_text("Your phone is busy.")
    await expect(requests).to_contain_text(NUMBER)

    live.sim.set_customer_phone("PJSIP/agent101", CustomerPhone.answers())
    await requests.locator(f'button[data-request="{request_id}"]').click()
    await expect(page.get_by_test_id("call-control-done")).to_have_text(
        "Your phone answered; now calling the citizen"
    )
    await expect(requests).not_to_contain_text(NUMBER)
    placed = live.sim.survey_calls[-1].request
    assert placed is not None
    assert (placed.dial, placed.context, placed.exten) == (AGENT, "from-agents", NUMBER)
    assert placed.variables == {"HOTLINE_CALLBACK": f"callback-{request_id}"}
    outcome = await stored(
        live,
        "SELECT outcome FROM outbound_calls WHERE callback_request_id = $1 "
        "AND outcome = 'answered'",
        request_id,
    )
    assert outcome == "answered"
    assert await stored(live, "SELECT done_by FROM callback_requests WHERE id = $1", request_id)


RING_SPY = """
window.__notes = [];
window.__tones = 0;
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__notes.push([title, options.body]); }
};
const real = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  window.__tones += 1;
  return real.call(this);
};
"""


async def test_a_ringing_call_sounds_notifies_and_changes_the_title(live: Live) -> None:
    await live.page.context.grant_permissions(["notifications"])
    await live.page.add_init_script(RING_SPY)
    page = await log_in_and_go_ready(live)
    before = await page.title()
    await live.sim.place_call(QUEUE, NUMBER, "Nok")
    await expect(page).to_have_title(re.compile(f"Ringing: {NUMBER} Nok"))
    await expect(page.get_by_test_id("ring-announcement")).to_have_text(
        f"Incoming call: {NUMBER} Nok"
    )
    assert await page.get_by_test_id("ring-announcement").get_attribute("aria-live")
    assert await page.get_by_test_id("pop").get_attribute("aria-live") == "polite"
    assert await page.evaluate("window.__notes") == [[f"Incoming call: {NUMBER} Nok", NUMBER]]
    assert await page.evaluate("window.__tones") > 0
    await live.sim.answer(AGENT)
    await expect(page).to_have_title(before)


async def test_the_intake_of_the_first_call_is_kept_apart_when_the_second_pops(
    live: Live,
) -> None:
    page = await talking(live)
    await page.select_option("select[name=case_type]", "complaint")
    await page.fill("input[name=topic]", "First caller's water bill")
    await page.fill("textarea[name=details]", "Typed during the first call")
    first_call = await page.input_value("input[name=call_key]")
    await live.sim.hangup(live.sim.calls[-1])
    await expect(page.get_by_test_id("call-status")).to_have_text("Wrap-up")
    # The agent ends wrap-up without saving the notes; the PBX then rings the next caller.
    await page.select_option("#wrapup-code", "follow_up")
    await page.click("#end-wrapup")

    await live.sim.place_call(QUEUE, OTHER_NUMBER, "Second")
    await expect(page.get_by_test_id("caller-number")).to_have_text(OTHER_NUMBER)
    await expect(page.locator("input[name=contact_phone]")).to_have_value(OTHER_NUMBER)
    await expect(page.locator("input[name=topic]")).to_have_value("")
    await expect(page.locator("textarea[name=details]")).to_have_value("")
    drafts = page.get_by_test_id("intake-drafts")
    await expect(drafts).to_contain_text(NUMBER)
    await expect(drafts).to_contain_text("First caller's water bill")

    await drafts.get_by_role("button", name="Open these notes").first.click()
    await expect(page.locator("input[name=topic]")).to_have_value("First caller's water bill")
    assert await page.input_value("input[name=call_key]") == first_call
    await page.click("#intake button[type=submit]")
    await expect(page.get_by_test_id("intake-result")).to_contain_text("HL-")
    linked = await stored(
        live,
        "SELECT k.caller_number FROM cases c JOIN calls k ON k.id = c.call_id WHERE c.topic = $1",
        "First caller's water bill",
    )
    assert linked == NUMBER

    await expect(drafts).to_contain_text(OTHER_NUMBER)
    await drafts.get_by_role("button", name="Open these notes").first.click()
    await expect(page.locator("input[name=contact_phone]")).to_have_value(OTHER_NUMBER)
    await expect(page.locator("input[name=topic]")).to_have_value("")


async def test_a_citizen_is_called_back_from_the_case_page(live: Live) -> None:
    app = live.server.app
    found = await UserRepository(app[db_key].pool).credentials("somchai")
    assert found is not None
    actor = Actor(user_id=found[0].id, role=Role.AGENT, unit_id=None)
    form = {"channel": "phone", "case_type": "complaint", "topic": "Bill", "details": "x"}
    intake = IntakeForm.parse({**form, "contact_phone": "081-234-5678"})
    case = await app[intake_key].create(intake, actor=actor, now=datetime.now(UTC))
    page = await log_in_and_go_ready(live)
    await page.goto(live.url(f"/cases/{case.id}"))
    live.sim.set_customer_phone(AGENT, CustomerPhone.answers())  # the agent picks up at once
    await page.click("#case-call-back button")
    await expect(page.get_by_test_id("case-call-back-result")).to_have_text(
        "Your phone answered; now calling the citizen"
    )
    placed = live.sim.survey_calls[-1].request
    assert placed is not None and placed.variables == {"HOTLINE_CALLBACK": case.reference}
    assert placed.exten == NUMBER
    linked = await stored(live, "SELECT case_id FROM outbound_calls WHERE outcome = 'answered'")
    assert linked == case.id

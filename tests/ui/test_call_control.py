"""Call control over HTTP on the real service and the PBX simulator over TCP: only the agent
on the call controls it, numbers are checked before anything is dialled, a call back from a
case carries the case, and the PBX's absence is a clear refusal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from accounts.users import UserRepository
from agent_ui.call_control import dialable
from cases.intake import IntakeForm
from cases.lifecycle import Role
from cases.models import Actor
from pbxsim import AgentPhone, PbxSimulator
from runtime.clock import SystemClock
from telephony.events import PbxSnapshot, TelephonyEvent
from tests.passwords import password_hash
from tests.ui.conftest import PASSWORD, Desk, build_app, open_page
from tests.ui.test_call_control_browser import callback_request
from tests.waiting import until, until_true
from web.keys import db_key, event_subscribers_key, intake_key

QUEUE = "1169"
NUMBER = "0812345678"


@dataclass
class Wired:
    sim: PbxSimulator
    server: TestServer
    somchai: Desk
    malee: Desk


async def _desk(server: TestServer, username: str, interface: str) -> Desk:
    user = await UserRepository(server.app[db_key].pool).create(
        username=username,
        display_name=username.title(),
        password_hash=await password_hash(PASSWORD),
        role="agent",
        pbx="sim",
        interface=interface,
        language="en",
        queues=(QUEUE,),
    )
    session = aiohttp.ClientSession(
        base_url=str(server.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
    )
    return Desk(session, user.id, await open_page(session, username))


@pytest_asyncio.fixture(loop_scope="function")
async def wired(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[Wired]:
    sim = PbxSimulator()
    sim.add_queue(QUEUE)
    sim.set_default_agent_phone(AgentPhone.manual())
    host, port = await sim.start()
    pbx = {"name": "sim", "host": host, "port": port, "username": "hotline", "secret": "hotline"}
    app = build_app(fresh_db_url, tmp_path, SystemClock(), pbx=[pbx])
    synced = asyncio.Event()

    async def on_snapshot(event: TelephonyEvent) -> None:
        if isinstance(event, PbxSnapshot):
            synced.set()

    app[event_subscribers_key].append(on_snapshot)
    async with TestServer(app) as server:
        await asyncio.wait_for(synced.wait(), 10)
        somchai = await _desk(server, "somchai", "PJSIP/agent101")
        malee = await _desk(server, "malee", "PJSIP/agent102")
        try:
            yield Wired(sim, server, somchai, malee)
        finally:
            await somchai.session.close()
            await malee.session.close()
    await sim.stop()


async def on_the_phone(wired: Wired) -> str:
    """Somchai goes ready and answers a call; its call key as his desk shows it."""
    assert (await wired.somchai.post("/panel/availability", availability="ready"))[0] == 200
    await wired.sim.place_call(QUEUE, NUMBER, "Nok")
    await wired.sim.answer("PJSIP/agent101")
    async with asyncio.timeout(5):
        while True:
            call = (await wired.somchai.state())["call"]
            if call is not None and call["status"] == "talking":
                return str(call["call_key"])
            await asyncio.sleep(0.05)


def actions(sim: PbxSimulator, name: str) -> int:
    return sum(1 for r in sim.server.actions if r.message.get("Action") == name)


async def test_only_the_agent_on_the_call_may_control_it(wired: Wired) -> None:
    call_key = await on_the_phone(wired)
    for path, extra in (
        ("/panel/call/hangup", {}),
        ("/panel/call/transfer", {"kind": "outside", "target": NUMBER}),
        ("/panel/call/transfer/cancel", {}),
    ):
        status, body = await wired.malee.post(path, call_key=call_key, **extra)
        assert (status, body) == (403, {"error": "not_your_call"})
    assert actions(wired.sim, "Hangup") == actions(wired.sim, "BlindTransfer") == 0
    assert (await wired.somchai.state())["call"]["status"] == "talking"
    status, body = await wired.somchai.post("/panel/call/hangup", call_key="sim/1169/forged")
    assert (status, body) == (403, {"error": "not_your_call"})


async def test_transfer_targets_are_checked_before_the_pbx_is_asked(wired: Wired) -> None:
    call_key = await on_the_phone(wired)
    for kind, target, error in (
        ("outside", "0812345678; Hangup", "invalid_number"),
        ("outside", "1669", "invalid_number"),
        ("agent", "2999", "unknown_target"),
        ("queue", "other-queue", "unknown_target"),
    ):
        status, body = await wired.somchai.post(
            "/panel/call/transfer", call_key=call_key, kind=kind, target=target
        )
        assert (status, body) == (422, {"error": error}), (kind, target)
    assert actions(wired.sim, "BlindTransfer") == 0
    status, body = await wired.somchai.post(
        "/panel/call/transfer", call_key=call_key, kind="agent", target="2102"
    )
    assert (status, body["target"]) == (200, "2102")


async def test_a_caller_is_sent_back_into_a_queue_through_its_extension(wired: Wired) -> None:
    call_key = await on_the_phone(wired)
    status, body = await wired.somchai.post(
        "/panel/call/transfer", call_key=call_key, kind="queue", target=QUEUE
    )
    assert (status, body["target"]) == (200, QUEUE)
    sent = await wired.sim.wait_for_action("BlindTransfer")
    assert (sent["Channel"].startswith("PJSIP/agent101-"), sent["Exten"]) == (True, QUEUE)
    assert sent["Context"] == "from-agents"


async def test_transfer_targets_list_the_colleagues_and_queues(wired: Wired) -> None:
    response = await wired.somchai.session.get("/panel/call/targets")
    assert await response.json() == {
        "agents": [{"extension": "2102", "name": "Malee"}],
        "queues": [QUEUE],
    }


async def test_a_call_back_from_a_case_carries_its_reference_and_is_stored(wired: Wired) -> None:
    app = wired.server.app
    actor = Actor(user_id=wired.somchai.user_id, role=Role.AGENT, unit_id=None)
    intake = IntakeForm.parse(
        {"channel": "phone", "case_type": "complaint", "topic": "Bill", "details": "x"}
    )
    case = await app[intake_key].create(intake, actor=actor, now=SystemClock().now())
    wired.sim.set_agent_phone("PJSIP/agent101", AgentPhone.answers_after(0.1))
    status, body = await wired.somchai.post(
        "/panel/callback", number="081 234 5678", case_id=str(case.id)
    )
    assert (status, body) == (200, {"done": True})
    placed = wired.sim.survey_calls[-1].request
    assert placed is not None
    assert placed.variables == {"HOTLINE_CALLBACK": case.reference}
    assert placed.caller_id == ("1169", "Hotline")
    row = await app[db_key].pool.fetchrow("SELECT * FROM outbound_calls")
    assert (row["case_id"], row["number"], row["outcome"]) == (case.id, NUMBER, "answered")
    assert row["agent_user_id"] == wired.somchai.user_id


async def test_a_call_back_is_stored_with_the_citizens_answer_and_the_hang_up(
    wired: Wired,
) -> None:
    """The row written before dialling is completed from the PBX's own events."""
    wired.sim.set_agent_phone("PJSIP/agent101", AgentPhone.answers_after(0.1))
    wired.sim.set_outside_phone(AgentPhone.answers_after(0.3))
    status, _ = await wired.somchai.post("/panel/callback", number=NUMBER)
    assert status == 200
    pool = wired.server.app[db_key].pool

    def citizen() -> str | None:
        trunk = (c.name for c in wired.sim.core.channels.values() if c.name.startswith("PJSIP/"))
        return next((name for name in trunk if "agent" not in name), None)

    await until(lambda: citizen() is not None, within=5.0)
    await asyncio.sleep(0.6)  # the citizen answered after 0.3 s and talks a little
    trunk_leg = citizen()
    assert trunk_leg is not None and wired.sim.hang_up_channel(trunk_leg)

    async def completed() -> object:
        return await pool.fetchrow("SELECT * FROM outbound_calls WHERE ended_at IS NOT NULL")

    row = await until_true(completed, within=5.0)
    assert row["number"] == NUMBER and row["agent_user_id"] == wired.somchai.user_id
    assert row["started_at"] <= row["dialled_at"] < row["citizen_answered_at"] < row["ended_at"]
    assert row["talk_s"] == pytest.approx(
        (row["ended_at"] - row["citizen_answered_at"]).total_seconds()
    )
    assert row["talk_s"] > 0.3


async def test_a_bad_number_is_refused_and_nothing_is_dialled(wired: Wired) -> None:
    status, body = await wired.somchai.post("/panel/callback", number="+1 (555) 0100")
    assert (status, body) == (422, {"error": "invalid_number"})
    status, body = await wired.somchai.post("/panel/callback", request_id="999")
    assert (status, body) == (409, {"error": "callback_done"})
    assert actions(wired.sim, "Originate") == 0
    assert await wired.server.app[db_key].pool.fetchval("SELECT count(*) FROM outbound_calls") == 0


async def test_with_the_pbx_down_a_call_back_is_refused_clearly(wired: Wired) -> None:
    await wired.sim.stop()
    status, body = await wired.somchai.post("/panel/callback", number=NUMBER)
    assert (status, body) == (502, {"error": "pbx_unavailable"})
    row = await wired.server.app[db_key].pool.fetchrow("SELECT outcome FROM outbound_calls")
    assert row["outcome"] == "refused"


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("0812345678", "0812345678"),
        ("+66 81 234 5678", "0812345678"),
        ("02-123-4567", "021234567"),
        ("1669", None),
        ("0812345678,1", None),
        ("*0812345678", None),
        ("", None),
        ("0" * 500, None),
    ],
)
def test_only_thai_national_numbers_are_dialled(raw: str, number: str | None) -> None:
    assert dialable(raw) == number


async def test_supervisors_see_the_open_callback_requests_of_every_queue(wired: Wired) -> None:
    wired.sim.emit(callback_request("1796203391.4", "0899999999"))
    wired.sim.emit(callback_request("1796203391.6", "<b>x</b>", queue="other"))
    pool = wired.server.app[db_key].pool
    async with asyncio.timeout(5):
        while True:
            if await pool.fetchval("SELECT count(*) FROM callback_requests") == 2:
                break
            await asyncio.sleep(0.05)
    await UserRepository(pool).create(
        username="boss",
        display_name="Boss",
        password_hash=await password_hash(PASSWORD),
        role="supervisor",
        language="en",
    )
    async with aiohttp.ClientSession(
        base_url=str(wired.server.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as boss:
        await open_page(boss, "boss", "/callbacks")
        page = await (await boss.get("/callbacks")).text()
    assert "0899999999" in page and "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "cannot be dialled" in page
    agents_list = await (await wired.somchai.session.get("/panel/callbacks")).json()
    assert [r["number"] for r in agents_list["requests"]] == ["0899999999"]

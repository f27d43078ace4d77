"""The agent panel over HTTP and WebSocket: pops, phases, wrap-up, intake, resume."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from accounts.users import UserRepository
from agent_ui.phases import Phase
from cases.working_days import BANGKOK
from runtime.clock import ManualClock
from supervision.stats import Period, Thresholds, figures
from telephony.events import (
    AgentRinging,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallQueued,
    CallResumed,
    CallTransferred,
    ConnectedCall,
    MemberRemoved,
    MemberSnapshot,
    PbxSnapshot,
    RingNoAnswer,
    make_call_key,
)
from telephony.service import TelephonyService
from tests.passwords import password_hash
from tests.ui.conftest import PASSWORD, PBX, START, MakeAgent
from web.keys import (
    agent_events_key,
    call_writer_key,
    db_key,
    floor_key,
    panel_key,
    tracker_key,
)

NUMBER = "0812345678"
EVIL = "<img src=x onerror=alert(1)>"


def of_call(clock: ManualClock, uid: str) -> dict[str, Any]:
    """What every event of the queue call `uid` says: where, when, which call."""
    return {
        "pbx": PBX,
        "at": clock.now(),
        "call_key": make_call_key(PBX, "1169", uid),
        "queue": "1169",
    }


def queued(clock: ManualClock, uid: str) -> CallQueued:
    return CallQueued(
        **of_call(clock, uid),
        uniqueid=uid,
        linkedid=uid,
        caller_number=NUMBER,
        caller_name="Nok",
        position=1,
        count=1,
    )


def ringing(clock: ManualClock, uid: str, interface: str, name: str = "Nok") -> AgentRinging:
    return AgentRinging(
        **of_call(clock, uid),
        interface=interface,
        member_name="",
        caller_number=NUMBER,
        caller_name=name,
    )


def answered(clock: ManualClock, uid: str, interface: str) -> CallAnswered:
    return CallAnswered(
        **of_call(clock, uid),
        interface=interface,
        member_name="",
        caller_number=NUMBER,
        caller_name="Nok",
        wait_s=3,
        ring_s=2,
    )


def ended(clock: ManualClock, uid: str, interface: str) -> CallEnded:
    return CallEnded(
        **of_call(clock, uid),
        interface=interface,
        member_name="",
        caller_number=NUMBER,
        hung_up_by="caller",
        talk_s=60,
        hold_s=0,
        wait_s=3,
    )


def boot_of(page: str) -> Any:
    """The state a panel page hands its script."""
    found = re.search(r'<script type="application/json" id="panel-boot">(.*?)</script>', page)
    assert found
    return json.loads(found.group(1))


async def feed(server: TestServer, *events: Any) -> None:
    """Hand events to the call tracker, the floor and the panel, in the order the telephony
    service subscribes them, then wait until what they wrote to the calls is stored."""
    app = server.app
    for event in events:
        await app[tracker_key].handle(event)
        await app[floor_key].handle(event)
        await app[agent_events_key](event)
    await app[call_writer_key].flush()


def board_state(server: TestServer, interface: str, clock: ManualClock) -> str:
    agents = server.app[floor_key].view(clock.now())["agents"]
    return str(next(a["state"] for a in agents if a["interface"] == interface))


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next message that is not a heartbeat."""
    while True:
        message: dict[str, Any] = json.loads(await ws.receive_str(timeout=5))
        if message["type"] != "heartbeat":
            return message


async def stored_call(server: TestServer, uid: str) -> Any:
    """The call's row, once everything handed to the call writer is stored."""
    await server.app[call_writer_key].flush()
    key = make_call_key(PBX, "1169", uid)
    return await server.app[db_key].pool.fetchrow("SELECT * FROM calls WHERE call_key = $1", key)


async def test_only_the_ringing_agent_gets_the_pop(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    malee = await make_agent("malee", "PJSIP/102")
    async with somchai.socket() as ws_a, malee.socket() as ws_b:
        assert (await receive(ws_a))["type"] == "hello"
        assert (await receive(ws_b))["type"] == "hello"
        await feed(panel_app, ringing(clock, "1.1", "PJSIP/101"))
        pop = await receive(ws_a)
        assert pop["type"] == "pop"
        assert pop["data"]["call"]["caller_number"] == NUMBER
        assert pop["data"]["call"]["pop"]["known"] is False
        await feed(panel_app, ringing(clock, "1.2", "PJSIP/102"))
        theirs = await receive(ws_b)
        assert theirs["data"]["call"]["call_key"] == make_call_key(PBX, "1169", "1.2")


async def test_two_tabs_get_one_pop_even_when_the_pbx_repeats_the_ring(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    async with somchai.socket() as tab1, somchai.socket() as tab2:
        await receive(tab1)
        await receive(tab2)
        await feed(panel_app, ringing(clock, "1.1", "PJSIP/101"))
        await feed(panel_app, ringing(clock, "1.1", "PJSIP/101"))
        await feed(panel_app, answered(clock, "1.1", "PJSIP/101"))
        for tab in (tab1, tab2):
            first, second = await receive(tab), await receive(tab)
            assert [first["type"], second["type"]] == ["pop", "answered"]
            assert second["id"] == first["id"] + 1


async def test_the_pop_is_still_there_after_a_reload(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    await feed(panel_app, ringing(clock, "1.1", "PJSIP/101", name=EVIL))
    page = await (await somchai.session.get("/panel")).text()
    assert NUMBER in page
    assert EVIL not in page, "the caller-ID name must never reach the page as markup"
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page
    state = await (await somchai.session.get("/panel/state")).json()
    assert state["desk"]["call"]["caller_name"] == EVIL


async def test_a_reconnecting_panel_resumes_from_its_last_event(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    async with somchai.socket() as ws:
        hello = await receive(ws)
    await feed(panel_app, ringing(clock, "1.1", "PJSIP/101"), answered(clock, "1.1", "PJSIP/101"))
    async with somchai.socket(since=hello["last_event_id"], epoch=hello["epoch"]) as ws:
        assert (await receive(ws))["type"] == "hello"
        assert [(await receive(ws))["type"] for _ in range(2)] == ["pop", "answered"]
    async with somchai.socket(since=hello["last_event_id"], epoch="before-restart") as ws:
        assert (await receive(ws))["type"] == "reload"


async def test_phases_are_timed_and_stored_then_wrapup_ends(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    await feed(
        panel_app,
        queued(clock, "1.1"),
        ringing(clock, "1.1", "PJSIP/101"),
        answered(clock, "1.1", "PJSIP/101"),
    )
    clock.advance(timedelta(seconds=20))
    status, body = await somchai.post("/panel/phase/next")
    assert (status, body["phase"]) == (200, "inquiry")
    clock.advance(timedelta(seconds=400))
    assert (await somchai.post("/panel/phase/next"))[1]["phase"] == "closing"
    await feed(
        panel_app,
        CallHeld(PBX, clock.now(), make_call_key(PBX, "1169", "1.1"), "1169", "PJSIP/101"),
    )
    state = await (await somchai.session.get("/panel/state")).json()
    assert state["desk"]["call"]["status"] == "held"
    await feed(
        panel_app,
        CallResumed(PBX, clock.now(), make_call_key(PBX, "1169", "1.1"), "1169", "PJSIP/101", 0),
    )
    clock.advance(timedelta(seconds=25))
    await feed(panel_app, ended(clock, "1.1", "PJSIP/101"))
    state = await (await somchai.session.get("/panel/state")).json()
    assert state["desk"]["call"]["status"] == "wrapup"
    assert board_state(panel_app, "PJSIP/101", clock) == "wrapup"
    clock.advance(timedelta(seconds=10))
    assert (await somchai.post("/panel/wrapup/end", code="resolved"))[0] == 200
    state = await (await somchai.session.get("/panel/state")).json()
    assert state["desk"]["call"] is None
    assert board_state(panel_app, "PJSIP/101", clock) != "wrapup", "supervisors see it end"

    row = await stored_call(panel_app, "1.1")
    assert (row["greeting_s"], row["inquiry_s"], row["closing_s"]) == (20, 400, 25)
    assert row["closing_ended_at"] == row["wrapup_started_at"]
    # No PBX here held the agent out of the queue, so there was no after-call work to count
    # (tests/ui/test_shift.py measures the wrap-up a PBX holds).
    assert (row["wrapup_s"], row["wrapup_code"]) == (0, "resolved")
    assert row["agent_user_id"] == somchai.user_id
    phases = [
        r["phase"]
        for r in await panel_app.app[db_key].pool.fetch(
            "SELECT phase FROM call_phase_events WHERE call_id = $1 ORDER BY at, id", row["id"]
        )
    ]
    assert phases == ["greeting", "inquiry", "closing", "done", "wrapup"]


async def test_a_phase_marked_before_the_tracker_stored_the_call_is_kept(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    """The panel and the call tracker follow the PBX separately: the agent may move on to
    the inquiry before the tracker's first save of the call has reached the database."""
    somchai = await make_agent("somchai", "PJSIP/101")
    app = panel_app.app
    early = (
        queued(clock, "1.1"),
        ringing(clock, "1.1", "PJSIP/101"),
        answered(clock, "1.1", "PJSIP/101"),
    )
    for event in early:
        await app[agent_events_key](event)
    clock.advance(timedelta(seconds=20))
    assert (await somchai.post("/panel/phase/next"))[1]["phase"] == "inquiry"
    for event in early:
        await app[tracker_key].handle(event)

    row = await stored_call(panel_app, "1.1")
    assert (row["greeting_s"], row["inquiry_started_at"]) == (20, clock.now())
    assert row["agent_user_id"] == somchai.user_id
    phases = await app[db_key].pool.fetch(
        "SELECT phase FROM call_phase_events WHERE call_id = $1 ORDER BY at, id", row["id"]
    )
    assert [r["phase"] for r in phases] == ["greeting", "inquiry"]


async def test_intake_errors_come_back_per_field_and_a_saved_case_pops_next_time(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    await feed(
        panel_app,
        queued(clock, "1.1"),
        ringing(clock, "1.1", "PJSIP/101"),
        answered(clock, "1.1", "PJSIP/101"),
    )
    key = make_call_key(PBX, "1169", "1.1")
    status, body = await somchai.post(
        "/panel/intake",
        call_key=key,
        channel="phone",
        case_type="",
        topic="",
        contact_email="not-an-email",
    )
    assert status == 422
    assert body["errors"] == {
        "case_type": "required",
        "topic": "required",
        "contact_email": "invalid",
    }
    status, body = await somchai.post(
        "/panel/intake",
        call_key=key,
        channel="phone",
        case_type="complaint",
        topic="Water bill too high",
        details="Since January",
        contact_phone=NUMBER,
        contact_name="Nok",
        occupation="farmer",
        province="Chiang Mai",
        gender="female",
    )
    assert status == 200, body
    state = await (await somchai.session.get("/panel/state")).json()
    assert state["desk"]["call"]["case_reference"] == body["reference"]
    linked = await panel_app.app[db_key].pool.fetchval(
        "SELECT c.call_id = k.id FROM cases c, calls k WHERE c.id = $1 AND k.call_key = $2",
        body["case_id"],
        key,
    )
    assert linked is True

    await feed(panel_app, ended(clock, "1.1", "PJSIP/101"))
    await somchai.post("/panel/wrapup/end")
    clock.advance(timedelta(minutes=20))  # within the idle timeout: still signed in
    await feed(panel_app, ringing(clock, "2.1", "PJSIP/101"))
    pop = (await (await somchai.session.get("/panel/state")).json())["desk"]["call"]["pop"]
    assert pop["known"] is True
    assert pop["profile"]["occupation"] == "farmer"
    assert [c["reference"] for c in pop["cases"]] == [body["reference"]]
    assert pop["calls"][0]["agent"] == "Somchai"


async def test_pbx_side_pauses_show_on_the_panel(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    async with somchai.socket() as ws:
        await receive(ws)
        await feed(
            panel_app,
            AgentStateChanged(
                PBX, clock.now(), "1169", "PJSIP/101", "Somchai", "ready", True, "lunch"
            ),
        )
        event = await receive(ws)
        assert (event["type"], event["data"]["availability"], event["data"]["reason"]) == (
            "state",
            "paused",
            "lunch",
        )


async def test_the_panel_reads_the_floor_only_once_it_applied_the_event(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    """The floor and the panel follow the PBX as separate subscribers, woken in the order
    they subscribed: even when the floor comes second, the panel sees the pause."""
    somchai = await make_agent("somchai", "PJSIP/101")
    app = panel_app.app
    service = TelephonyService([], [app[agent_events_key], app[floor_key].handle])
    await service.start()
    try:
        async with somchai.socket() as ws:
            await receive(ws)
            service.publish(ringing(clock, "1.1", "PJSIP/101"))
            assert (await receive(ws))["type"] == "pop"
            service.publish(
                AgentStateChanged(
                    PBX, clock.now(), "1169", "PJSIP/101", "Somchai", "ready", True, "lunch"
                )
            )
            event = await receive(ws)
    finally:
        await service.stop()
    assert (event["data"]["availability"], event["data"]["reason"]) == ("paused", "lunch")


async def test_a_state_change_the_pbx_cannot_take_is_refused_and_not_shown(
    panel_app: TestServer, make_agent: MakeAgent
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    status, body = await somchai.post("/panel/availability", availability="paused", reason="break")
    assert (status, body["error"]) == (502, "pbx_refused")
    state = await (await somchai.session.get("/panel/state")).json()
    assert state["desk"]["availability"] == "logged_out"
    assert (await somchai.post("/panel/availability", availability="paused", reason="nap"))[
        0
    ] == 422


async def test_an_agent_without_a_phone_changes_state_and_it_is_stored(
    panel_app: TestServer, make_agent: MakeAgent
) -> None:
    somchai = await make_agent("somchai", "")
    status, body = await somchai.post("/panel/availability", availability="paused", reason="break")
    assert (status, body["desk"]["availability"], body["desk"]["reason"]) == (
        200,
        "paused",
        "break",
    )
    stored = await panel_app.app[db_key].pool.fetchval(
        "SELECT availability FROM agent_state_events WHERE user_id = $1", somchai.user_id
    )
    assert stored == "paused"


async def test_the_panel_refuses_actions_without_the_csrf_token(
    panel_app: TestServer, make_agent: MakeAgent
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    response = await somchai.session.post("/panel/phase/next", data={})
    assert response.status == 403


async def test_a_pop_is_withdrawn_when_someone_else_answers_or_the_caller_gives_up(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    malee = await make_agent("malee", "PJSIP/102")
    await feed(panel_app, ringing(clock, "1.1", "PJSIP/101"), ringing(clock, "1.1", "PJSIP/102"))
    await feed(panel_app, answered(clock, "1.1", "PJSIP/102"))
    assert (await somchai.state())["call"] is None
    assert (await malee.state())["call"]["status"] == "talking"

    await feed(panel_app, ringing(clock, "2.1", "PJSIP/101"))
    await feed(
        panel_app,
        RingNoAnswer(
            PBX, clock.now(), make_call_key(PBX, "1169", "2.1"), "1169", "PJSIP/101", "", 15
        ),
    )
    assert (await somchai.state())["call"] is None

    await feed(panel_app, ringing(clock, "3.1", "PJSIP/101"))
    await feed(
        panel_app,
        CallAbandoned(PBX, clock.now(), make_call_key(PBX, "1169", "3.1"), "1169", 30, 1, 1),
    )
    assert (await somchai.state())["call"] is None


async def test_a_transfer_shows_where_the_call_went(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    await feed(panel_app, ringing(clock, "1.1", "PJSIP/101"), answered(clock, "1.1", "PJSIP/101"))
    await feed(
        panel_app,
        CallTransferred(
            PBX, clock.now(), make_call_key(PBX, "1169", "1.1"), "1169", "PJSIP/101", "2001"
        ),
    )
    assert (await somchai.state())["call"]["transferred_to"] == "2001"


async def test_a_saved_case_can_be_corrected_from_the_same_form(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    await feed(
        panel_app,
        queued(clock, "1.1"),
        ringing(clock, "1.1", "PJSIP/101"),
        answered(clock, "1.1", "PJSIP/101"),
    )
    key = make_call_key(PBX, "1169", "1.1")
    form = {"call_key": key, "channel": "phone", "case_type": "complaint", "topic": "Bill"}
    _, first = await somchai.post("/panel/intake", **form)
    status, second = await somchai.post(
        "/panel/intake", **{**form, "topic": "Bill, corrected", "case_id": str(first["case_id"])}
    )
    assert status == 200
    assert second == first
    topics = await panel_app.app[db_key].pool.fetch("SELECT topic FROM cases")
    assert [r["topic"] for r in topics] == ["Bill, corrected"]


async def test_an_admin_edits_the_scripts_and_agents_see_them_in_their_language(
    panel_app: TestServer, make_agent: MakeAgent
) -> None:
    pool = panel_app.app[db_key].pool
    await UserRepository(pool).create(
        username="admin",
        display_name="Admin",
        password_hash=await password_hash(PASSWORD),
        role="admin",
    )
    admin = await make_agent("admin", existing=True, page="/panel/scripts")
    response = await admin.session.post(
        "/panel/scripts",
        data={
            "csrf_token": admin.csrf,
            "greeting_th": "สวัสดีค่ะ <b>1169</b>",
            "greeting_en": "Hello from 1169",
            "closing_th": "ขอบคุณค่ะ",
            "closing_en": "Thank you",
        },
    )
    assert response.status == 200
    somchai = await make_agent("somchai", "PJSIP/101")
    page = await (await somchai.session.get("/panel")).text()
    assert "<b>1169" not in page
    assert boot_of(page)["scripts"]["greeting"] == "สวัสดีค่ะ <b>1169</b>"
    english = await (await somchai.session.get("/lang/en?next=/panel")).text()
    assert boot_of(english)["scripts"] == {"greeting": "Hello from 1169", "closing": "Thank you"}
    forbidden = await somchai.session.get("/panel/scripts")
    assert forbidden.status == 403


async def test_the_pbx_snapshot_after_a_reconnect_sets_each_agents_state(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    malee = await make_agent("malee", "PJSIP/102")
    members = (
        MemberSnapshot("1169", "PJSIP/101", "Somchai", "ready", True, "meeting"),
        MemberSnapshot("1169", "PJSIP/102", "Malee", "ready", False, ""),
    )
    await feed(panel_app, PbxSnapshot(PBX, clock.now(), (), (), members))
    assert ((await somchai.state())["availability"], (await somchai.state())["reason"]) == (
        "paused",
        "meeting",
    )
    assert (await malee.state())["availability"] == "ready"
    await feed(panel_app, MemberRemoved(PBX, clock.now(), "1169", "PJSIP/102", "Malee"))
    assert (await malee.state())["availability"] == "logged_out"


async def test_calls_that_ended_while_the_pbx_link_was_down_leave_the_desk(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    malee = await make_agent("malee", "PJSIP/102")
    await feed(panel_app, ringing(clock, "1.1", "PJSIP/101"), answered(clock, "1.1", "PJSIP/101"))
    await feed(panel_app, ringing(clock, "2.1", "PJSIP/102"))
    clock.advance(timedelta(seconds=90))
    await feed(panel_app, PbxSnapshot(PBX, clock.now(), (), (), ()))
    call = (await somchai.state())["call"]
    assert call["status"] == "wrapup"
    assert call["ended_at"] == clock.now().isoformat()
    assert (await malee.state())["call"] is None


async def test_a_restarted_service_puts_calls_in_progress_back_on_the_desk(
    fresh_db_url: str, tmp_path: Any, clock: ManualClock
) -> None:
    from tests.ui.conftest import build_app

    first = build_app(fresh_db_url, tmp_path, clock, wrapup_s=30)
    async with TestServer(first) as server:
        pool = first[db_key].pool
        user = await pool.fetchval(
            "INSERT INTO users (username, display_name, password_hash, role, pbx, interface) "
            "VALUES ('somchai', 'Somchai', 'x', 'agent', $1, 'PJSIP/101') RETURNING id",
            PBX,
        )
        await feed(
            server,
            queued(clock, "1.1"),
            ringing(clock, "1.1", "PJSIP/101"),
            answered(clock, "1.1", "PJSIP/101"),
        )
        clock.advance(timedelta(seconds=20))
        await first[panel_key].next_phase(user)

    clock.advance(timedelta(seconds=5))
    second = build_app(fresh_db_url, tmp_path, clock, wrapup_s=30)
    async with TestServer(second):
        call = (await second[panel_key].desk(user)).call
        assert call is not None
        assert (call.status, call.phase) == ("talking", Phase.INQUIRY)
        assert call.phases[0].at == clock.now() - timedelta(seconds=25)


async def test_after_a_restart_the_panel_shows_the_call_answered_while_it_was_down(
    fresh_db_url: str, tmp_path: Any, clock: ManualClock
) -> None:
    from tests.ui.conftest import build_app

    first = build_app(fresh_db_url, tmp_path, clock, wrapup_s=30)
    async with TestServer(first) as server:
        user = await first[db_key].pool.fetchval(
            "INSERT INTO users (username, display_name, password_hash, role, pbx, interface) "
            "VALUES ('somchai', 'Somchai', 'x', 'agent', $1, 'PJSIP/101') RETURNING id",
            PBX,
        )
        await feed(
            server,
            queued(clock, "1.1"),
            ringing(clock, "1.1", "PJSIP/101"),
            answered(clock, "1.1", "PJSIP/101"),
        )

    clock.advance(timedelta(seconds=120))  # down: 1.1 ended, 2.1 rang and was answered
    new_call = ConnectedCall(
        call_key=make_call_key(PBX, "1169", "2.1"),
        queue="1169",
        uniqueid="2.1",
        linkedid="2.1",
        caller_number="0898765432",
        caller_name="Dao",
        interface="PJSIP/101",
        member_name="Somchai",
        talking_s=40.0,
    )
    second = build_app(fresh_db_url, tmp_path, clock, wrapup_s=30)
    async with TestServer(second) as server:
        await feed(server, PbxSnapshot(PBX, clock.now(), (), (new_call,), ()))
        call = (await second[panel_key].desk(user)).call
        assert call is not None
        assert (call.call_key, call.status, call.caller_name) == (
            new_call.call_key,
            "talking",
            "Dao",
        )
        assert call.answered_at == clock.now() - timedelta(seconds=40)
        assert call.phase is Phase.GREETING


async def test_a_case_saved_without_a_telephone_still_belongs_to_the_caller(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    await feed(
        panel_app,
        queued(clock, "1.1"),
        ringing(clock, "1.1", "PJSIP/101"),
        answered(clock, "1.1", "PJSIP/101"),
    )
    key = make_call_key(PBX, "1169", "1.1")
    status, body = await somchai.post(
        "/panel/intake", call_key=key, channel="phone", case_type="suggestion", topic="Hours"
    )
    assert status == 200
    owner = await panel_app.app[db_key].pool.fetchval(
        "SELECT cl.number FROM cases c JOIN callers cl ON cl.id = c.caller_id WHERE c.id = $1",
        body["case_id"],
    )
    assert owner == NUMBER


async def test_an_agent_sees_their_own_ratings_of_the_month(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    page = await (await somchai.session.get("/panel")).text()
    assert "ยังไม่มีผลประเมิน" in page

    pool = panel_app.app[db_key].pool
    for rating in (1, 2, 3, None):
        await pool.execute(
            "INSERT INTO surveys (id, agent_user_id, caller_number, pbx, status, not_before,"
            " expires_at, rating, created_at, attempts) VALUES (gen_random_uuid(), $1,"
            " '0812345678', 'pbx1', $2, $3, $3, $4, $3, 1)",
            somchai.user_id,
            "completed" if rating else "failed",
            clock.now() - timedelta(hours=1),
            rating,
        )
    page = await (await somchai.session.get("/panel")).text()
    figures = re.sub(
        r"\s+", " ", page.split('data-testid="my-satisfaction"')[1].split("</section>")[0]
    )
    assert "67% พึงพอใจ" in figures  # (1 + 2) of 3 responses
    assert "1 ประทับใจ: 1 · 2 พึงพอใจ: 1 · 3 ไม่พึงพอใจ: 1" in figures
    assert "75% (3/4)" in figures  # responses of the surveys attempted
    assert 'class="bad"' in figures  # under the 85 % target


async def test_the_aht_of_a_busy_hour_without_wrapup_is_talk_plus_hold(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    """Nothing kept these agents out of the queue after their calls (no PBX paused them),
    and each phone rang again 2 s after hang-up: no after-call work is added to the AHT."""
    agents = [await make_agent(f"agent{n}", f"PJSIP/10{n}") for n in range(1, 4)]
    for round_ in range(5):
        for n in range(1, 4):
            uid, interface = f"{round_}.{n}", f"PJSIP/10{n}"
            await feed(panel_app, queued(clock, uid), ringing(clock, uid, interface))
            await feed(panel_app, answered(clock, uid, interface))
            clock.advance(timedelta(seconds=60))
            await feed(panel_app, ended(clock, uid, interface))
            clock.advance(timedelta(seconds=2))
    for agent in agents:
        assert (await agent.post("/panel/wrapup/end", code="resolved"))[0] == 200
    await panel_app.app[call_writer_key].flush()
    day = START.astimezone(BANGKOK).date()
    total = await figures(
        panel_app.app[db_key].pool, Period(day, day), Thresholds(), now=clock.now()
    )
    handle = total[0].handle
    assert handle.handled == 15
    assert handle.aht_s == (handle.talk_s + handle.hold_s) / 15 == 60

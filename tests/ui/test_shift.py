"""An agent's shift against the PBX simulator over AMI: signing in makes them a dynamic
member, pause codes and wrap-up are held by the PBX, signing out (or an expired session)
takes them out of the queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest_asyncio

from accounts.users import UserRepository
from cases.working_days import BANGKOK
from pbxsim import PbxSimulator
from supervision.stats import Period, pause_times
from tests.passwords import password_hash
from tests.ui.conftest import PASSWORD, Desk
from tests.ui.pbx_shift import PHONE, QUEUE, Shift, serve, shift_service, until
from web.keys import db_key, panel_key, presence_key


@pytest_asyncio.fixture(loop_scope="function")
async def shift(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[Shift]:
    async with shift_service(fresh_db_url, tmp_path, wrapup_s=60) as running:
        yield running


async def test_an_agent_who_never_signed_in_is_no_member_and_gets_no_call(shift: Shift) -> None:
    await shift.agent()
    call = await shift.sim.place_call(QUEUE, "0812345678")
    await asyncio.sleep(0.3)
    assert shift.member() is None
    assert not call.attempts


async def test_signing_in_joins_paused_with_a_name_and_penalty_until_ready(shift: Shift) -> None:
    await shift.agent(penalty=3)
    somchai = await shift.log_in()
    member = await until(shift.member, "the agent is a member")
    assert (member.name, member.dynamic, member.penalty) == ("Somchai", True, 3)
    assert (member.paused, member.paused_reason) == (True, "login")
    state = await until(somchai.state, "desk")
    assert (state["availability"], state["reason"]) == ("paused", "login")
    call = await shift.sim.place_call(QUEUE, "0812345678")
    await asyncio.sleep(0.3)
    assert not call.attempts, "no call before the agent is ready"

    status, body = await somchai.post("/panel/availability", availability="ready")
    assert (status, body["desk"]["availability"]) == (200, "ready")
    await until(lambda: bool(call.attempts), "the waiting caller rings the agent")


async def test_signing_out_and_leaving_the_queues_remove_the_member(shift: Shift) -> None:
    await shift.agent()
    somchai = await shift.log_in()
    await until(shift.member, "member")
    status, body = await somchai.post("/panel/availability", availability="logged_out")
    assert (status, body["desk"]["availability"]) == (200, "logged_out")
    assert shift.member() is None, "Leave queues works for a dynamic member"

    await somchai.post("/panel/availability", availability="ready")
    assert await until(shift.member, "member again")
    response = await somchai.session.post(
        "/logout", headers={"X-CSRF-Token": somchai.csrf}, allow_redirects=False
    )
    assert response.status == 303
    await until(lambda: shift.member() is None, "logout takes the agent out")


async def test_a_second_tab_keeps_the_agent_in_when_the_first_logs_out(shift: Shift) -> None:
    await shift.agent()
    first = await shift.log_in()
    await shift.log_in()
    await until(shift.member, "member")
    await first.session.post("/logout", headers={"X-CSRF-Token": first.csrf})
    await asyncio.sleep(0.2)
    assert shift.member() is not None


async def test_an_expired_session_signs_the_agent_out(shift: Shift) -> None:
    await shift.agent()
    somchai = await shift.log_in()
    await until(shift.member, "member")
    app = shift.server.app
    now = app[panel_key].clock.now()
    await app[presence_key].sweep(now)
    assert shift.member() is not None, "a live session keeps the agent in"
    await app[presence_key].sweep(now + timedelta(hours=11))
    assert shift.member() is None
    assert (await somchai.state())["availability"] == "logged_out"


async def test_a_pause_code_goes_to_the_pbx_as_its_reason(shift: Shift) -> None:
    await shift.agent()
    somchai = await shift.log_in()
    await until(shift.member, "member")
    status, body = await somchai.post(
        "/panel/availability", availability="paused", reason="coaching"
    )
    assert (status, body["desk"]["reason"]) == (200, "coaching")
    member = shift.member()
    assert member is not None and (member.paused, member.paused_reason) == (True, "coaching")
    for refused in ("wrapup", "login", "nap"):
        status, body = await somchai.post(
            "/panel/availability", availability="paused", reason=refused
        )
        assert (status, body["error"]) == (422, "invalid_state")
    assert shift.member().paused_reason == "coaching"  # type: ignore[union-attr]


async def _talk_and_hang_up(shift: Shift, somchai: Desk) -> None:
    await somchai.post("/panel/availability", availability="ready")
    call = await shift.sim.place_call(QUEUE, "0812345678", "Nok")
    await until(lambda: bool(call.attempts), "ring")
    await shift.sim.answer(PHONE)
    await shift.sim.hangup(call)
    await until(
        lambda: (m := shift.member()) is not None and m.paused_reason == "wrapup",
        "the PBX holds the agent for wrap-up",
    )


async def test_wrapup_is_held_by_the_pbx_until_the_agent_ends_it_with_a_code(
    shift: Shift,
) -> None:
    await shift.agent()
    somchai = await shift.log_in()
    await until(shift.member, "member")
    await _talk_and_hang_up(shift, somchai)
    second = await shift.sim.place_call(QUEUE, "0899999999")
    await asyncio.sleep(0.3)
    assert not second.attempts, "no call reaches an agent in wrap-up"
    state = await somchai.state()
    assert state["call"]["status"] == "wrapup" and state["call"]["kept_out"]

    assert (await somchai.post("/panel/wrapup/end"))[0] == 422
    assert (await somchai.post("/panel/wrapup/end", code="bogus"))[0] == 422
    status, _ = await somchai.post("/panel/wrapup/end", code="referred")
    assert status == 200
    await until(lambda: bool(second.attempts), "the next caller rings after wrap-up")
    pool = shift.server.app[db_key].pool
    row = await until(
        lambda: pool.fetchrow(
            "SELECT wrapup_code, wrapup_s, ended_at, wrapup_ended_at FROM calls "
            "WHERE caller_number = '0812345678' AND wrapup_ended_at IS NOT NULL"
        ),
        "wrap-up stored",
    )
    assert row["wrapup_code"] == "referred"
    assert row["wrapup_s"] == (row["wrapup_ended_at"] - row["ended_at"]).total_seconds() > 0.3


async def test_wrapup_ends_at_its_maximum_and_the_pbx_lets_the_agent_go(
    fresh_db_url: str, tmp_path: Path
) -> None:
    async with shift_service(fresh_db_url, tmp_path, wrapup_s=0.5) as shift:
        await shift.agent()
        somchai = await shift.log_in()
        await until(shift.member, "member")
        await _talk_and_hang_up(shift, somchai)
        await until(lambda: not shift.member().paused, "unpaused at the maximum")  # type: ignore[union-attr]
        pool = shift.server.app[db_key].pool
        row = await until(
            lambda: pool.fetchrow(
                "SELECT wrapup_code, wrapup_s FROM calls WHERE wrapup_s IS NOT NULL"
            ),
            "stored",
        )
        assert (row["wrapup_code"], row["wrapup_s"]) == (None, 0.5)


async def test_after_a_restart_the_pbx_membership_stays_as_it_is(
    fresh_db_url: str, tmp_path: Path
) -> None:
    sim = PbxSimulator()
    sim.add_queue(QUEUE)
    await sim.start()
    try:
        async with serve(sim, fresh_db_url, tmp_path, wrapup_s=60) as shift:
            user_id = await shift.agent()
            somchai = await shift.log_in()
            await until(shift.member, "member")
            await somchai.post("/panel/availability", availability="ready")
        added = sim.event_names().count("QueueMemberAdded")
        async with serve(sim, fresh_db_url, tmp_path, wrapup_s=60) as shift:
            somchai = await shift.log_in()
            state = await somchai.state()
            assert state["availability"] == "ready", "the PBX's state, not a new sign-in"
            assert sim.event_names().count("QueueMemberAdded") == added
            member = shift.member()
            assert member is not None and not member.paused
            assert somchai.user_id == user_id
    finally:
        await sim.stop()


async def test_time_per_pause_code_per_agent_comes_from_the_pbx_pauses(shift: Shift) -> None:
    await shift.agent()
    somchai = await shift.log_in()
    await until(shift.member, "member")
    await somchai.post("/panel/availability", availability="paused", reason="lunch")
    await asyncio.sleep(0.2)
    shift.sim.pause(PHONE, True, "toilet")  # pressed on the phone: the PBX tells the service
    await until(
        lambda: _reason_is(somchai, "toilet"), "the PBX's pause reaches the desk and its log"
    )
    await asyncio.sleep(0.2)
    await somchai.post("/panel/availability", availability="ready")

    app = shift.server.app
    now = app[panel_key].clock.now()
    day = now.astimezone(BANGKOK).date()
    times = {p.code: p for p in await pause_times(app[db_key].pool, Period(day, day), now=now)}
    assert {"login", "lunch", "toilet"} <= set(times)
    assert times["lunch"].agent == "Somchai" and times["lunch"].seconds >= 0.2
    assert times["toilet"].seconds >= 0.2

    pool = app[db_key].pool
    await UserRepository(pool).create(
        username="boss",
        display_name="Boss",
        password_hash=await password_hash(PASSWORD),
        role="supervisor",
        language="en",
    )
    boss = await shift.log_in("boss", "/supervisor")
    csv = await (await boss.session.get(f"/supervisor/reports.csv?from={day}&to={day}")).text()
    assert "Pause time by pause code" in csv
    assert "Somchai,Lunch," in csv and "Somchai,Toilet," in csv


async def _reason_is(desk: Desk, reason: str) -> bool:
    return bool((await desk.state())["reason"] == reason)


async def test_unpaused_on_the_phone_the_wrapup_ends_then_and_counts_until_then(
    shift: Shift,
) -> None:
    await shift.agent()
    somchai = await shift.log_in()
    await until(shift.member, "member")
    await _talk_and_hang_up(shift, somchai)
    await asyncio.sleep(0.3)
    shift.sim.pause(PHONE, False)  # the agent's phone (or a supervisor) unpauses them
    await until(lambda: _no_call(somchai), "the wrap-up ended with the PBX's unpause")
    assert (await somchai.state())["availability"] == "ready"
    pool = shift.server.app[db_key].pool
    row = await until(
        lambda: pool.fetchrow("SELECT wrapup_s, wrapup_code FROM calls WHERE wrapup_s IS NOT NULL"),
        "stored",
    )
    assert row["wrapup_s"] >= 0.3 and row["wrapup_code"] is None


async def test_a_pbx_that_refuses_the_sign_in_leaves_the_agent_signed_out(
    shift: Shift,
) -> None:
    await shift.agent()
    await shift.sim.refuse_connections()
    shift.sim.drop_connections()
    somchai = await shift.log_in()
    assert (await somchai.state())["availability"] == "logged_out"
    status, body = await somchai.post("/panel/availability", availability="ready")
    assert (status, body["error"]) == (502, "pbx_refused")


async def _no_call(desk: Desk) -> bool:
    return (await desk.state())["call"] is None

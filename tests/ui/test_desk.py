"""The desk's rules, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent_ui.desk import Desk, DeskCall
from agent_ui.phases import Phase

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def _call(key: str) -> DeskCall:
    return DeskCall(
        call_key=key,
        pbx="pbx1",
        queue="1169",
        caller_number="0812345678",
        caller_name="",
        pop={},
        rang_at=T0,
    )


def test_a_new_ring_never_replaces_the_call_the_agent_is_talking_on() -> None:
    desk = Desk(user_id=1, since=T0)
    assert desk.ring(_call("a"))
    assert not desk.ring(_call("a"))
    desk.answer("a", T0)
    assert not desk.ring(_call("b"))
    assert desk.call is not None and desk.call.call_key == "a"


def test_hang_up_closes_the_talk_and_starts_wrapup_until_the_configured_end() -> None:
    desk = Desk(user_id=1, since=T0)
    desk.ring(_call("a"))
    desk.answer("a", T0)
    desk.advance(T0 + timedelta(seconds=20))
    call = desk.hang_up("a", T0 + timedelta(seconds=60), wrapup_s=30)
    assert call is not None
    assert [m.phase for m in call.phases] == [
        Phase.GREETING,
        Phase.INQUIRY,
        Phase.DONE,
        Phase.WRAPUP,
    ]
    assert call.wrapup_until == T0 + timedelta(seconds=90)
    assert desk.advance(T0 + timedelta(seconds=61)) is None
    assert desk.ring(_call("b"))


def test_availability_keeps_its_start_time_when_nothing_changes() -> None:
    desk = Desk(user_id=1, since=T0)
    assert desk.set_availability("paused", "lunch", T0 + timedelta(minutes=1))
    assert not desk.set_availability("paused", "lunch", T0 + timedelta(minutes=2))
    assert desk.since == T0 + timedelta(minutes=1)
    assert desk.set_availability("ready", "lunch", T0 + timedelta(minutes=3))
    assert desk.reason == ""

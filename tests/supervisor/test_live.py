"""The floor fed with telephony events directly, read at chosen moments: as the supervisors'
board shows it, as the panel asks about an agent, as /healthz reports it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from calls.floor import Floor, Membership
from telephony.events import (
    AgentRinging,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallQueued,
    CallResumed,
    ConnectedCall,
    LinkDown,
    LinkUp,
    MemberAdded,
    MemberRemoved,
    MemberSnapshot,
    PbxSnapshot,
    WaitingCaller,
)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
PBX = "pbx1"
ANAN = "PJSIP/agent101"
BUSABA = "PJSIP/agent102"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def queued(uid: str, s: float, name: str = "Nok", position: int = 1) -> CallQueued:
    return CallQueued(
        PBX, at(s), f"{PBX}/q1169/{uid}", "q1169", uid, uid, "0812345678", name, position, position
    )


def state(
    interface: str, s: float, st: AgentState = "ready", paused: bool = False, reason: str = ""
) -> AgentStateChanged:
    return AgentStateChanged(PBX, at(s), "q1169", interface, interface[-3:], st, paused, reason)


def agent(view: dict[str, Any], interface: str) -> dict[str, Any]:
    return next(a for a in view["agents"] if a["interface"] == interface)


async def _two_agents(board: Floor) -> None:
    await board.handle(state(ANAN, 0))
    await board.handle(state(BUSABA, 0))


async def test_a_call_from_queue_to_wrapup() -> None:
    board = Floor(wrapup_s=60)
    await _two_agents(board)
    await board.handle(queued("1", 10))
    await board.handle(queued("2", 25, "Dao", 2))

    view = board.view(at(40))
    (q,) = view["queues"]
    assert [(w["caller_name"], w["wait_s"]) for w in q["waiting"]] == [("Nok", 30), ("Dao", 15)]
    assert q["longest_wait_s"] == 30
    assert q["agents"]["ready"] == 2

    key = f"{PBX}/q1169/1"
    await board.handle(AgentRinging(PBX, at(41), key, "q1169", ANAN, "101", "0812345678", "Nok"))
    await board.handle(AgentRinging(PBX, at(41), key, "q1169", BUSABA, "102", "0812345678", "Nok"))
    ringing = board.view(at(44))
    assert agent(ringing, ANAN)["state"] == "ringing"
    assert agent(ringing, ANAN)["in_state_s"] == 3

    await board.handle(
        CallAnswered(PBX, at(45), key, "q1169", ANAN, "101", "0812345678", "Nok", 35, 4)
    )
    talking = board.view(at(105))
    assert [w["caller_name"] for w in talking["queues"][0]["waiting"]] == ["Dao"]
    assert agent(talking, ANAN)["state"] == "in_call"
    assert agent(talking, ANAN)["call"]["handle_s"] == 60
    assert agent(talking, BUSABA)["state"] == "ready"  # stopped ringing once Anan answered

    await board.handle(CallHeld(PBX, at(110), key, "q1169", ANAN))
    assert agent(board.view(at(111)), ANAN)["call"]["held"] is True
    await board.handle(CallResumed(PBX, at(130), key, "q1169", ANAN, 20))
    assert agent(board.view(at(131)), ANAN)["call"]["held"] is False

    await board.handle(
        CallEnded(PBX, at(200), key, "q1169", ANAN, "101", "0812345678", "caller", 135, 20, 35)
    )
    wrapping = agent(board.view(at(230)), ANAN)
    assert (wrapping["state"], wrapping["in_state_s"], wrapping["call"]) == ("wrapup", 30, None)
    after = agent(board.view(at(275)), ANAN)
    assert (after["state"], after["in_state_s"]) == ("ready", 15)


async def test_wrapup_ended_on_the_panel_shows_the_agent_ready_at_once() -> None:
    board = Floor(wrapup_s=120)
    await _two_agents(board)
    key = f"{PBX}/q1169/1"
    await board.handle(queued("1", 0))
    await board.handle(CallAnswered(PBX, at(5), key, "q1169", ANAN, "101", "081", "Nok", 5, 2))
    await board.handle(CallEnded(PBX, at(65), key, "q1169", ANAN, "101", "081", "agent", 60, 0, 5))
    assert agent(board.view(at(70)), ANAN)["state"] == "wrapup"
    board.wrapup_ended(PBX, ANAN, at(80))
    ready = agent(board.view(at(90)), ANAN)
    assert (ready["state"], ready["in_state_s"]) == ("ready", 10)


async def test_paused_with_reason_and_abandons_leave_the_queue() -> None:
    board = Floor(wrapup_s=0)
    await _two_agents(board)
    await board.handle(state(BUSABA, 50, paused=True, reason="lunch"))
    await board.handle(state(BUSABA, 70, paused=True, reason="lunch"))  # repeat: same timer
    busaba = agent(board.view(at(110)), BUSABA)
    assert (busaba["state"], busaba["reason"], busaba["in_state_s"]) == ("paused", "lunch", 60)

    await board.handle(queued("9", 100))
    await board.handle(CallAbandoned(PBX, at(112), f"{PBX}/q1169/9", "q1169", 12, 1, 1))
    assert board.view(at(120))["queues"][0]["waiting"] == []


async def test_a_snapshot_after_a_reconnect_replaces_what_was_missed() -> None:
    board = Floor(wrapup_s=60)
    await _two_agents(board)
    await board.handle(queued("gone", 10))
    await board.handle(LinkDown(PBX, at(20), "connection reset"))
    assert board.view(at(30))["links_down"] == [{"pbx": PBX, "since_s": 10}]

    snapshot = PbxSnapshot(
        PBX,
        at(100),
        waiting=(WaitingCaller(f"{PBX}/q1169/new", "q1169", "new", "021234567", "Ploy", 1, 40),),
        connected=(
            ConnectedCall(
                f"{PBX}/q1169/talk", "q1169", "talk", "talk", "0899999999", "Mali", ANAN, "101", 75
            ),
        ),
        members=(
            MemberSnapshot("q1169", ANAN, "101", "in_call", False, ""),
            MemberSnapshot("q1662", ANAN, "101", "in_call", False, ""),
        ),
    )
    await board.handle(snapshot)
    view = board.view(at(110))
    assert view["links_down"] == []
    assert [(w["caller_name"], w["wait_s"]) for w in view["queues"][0]["waiting"]] == [("Ploy", 50)]
    assert [a["interface"] for a in view["agents"]] == [ANAN]  # Busaba left the queues
    anan = agent(view, ANAN)
    assert anan["queues"] == ["q1169", "q1662"]
    assert anan["call"]["handle_s"] == 85
    assert anan["call"]["caller_name"] == "Mali"


async def test_an_agents_queues_and_pause_follow_the_member_events() -> None:
    floor = Floor(wrapup_s=0)
    await floor.handle(MemberAdded(PBX, at(0), "q1169", ANAN, "Anan", "ready", False, ""))
    await floor.handle(MemberAdded(PBX, at(1), "q1662", ANAN, "Anan", "ready", False, ""))
    await floor.handle(state(ANAN, 5, paused=True, reason="Lunch"))
    anan = agent(floor.view(at(65)), ANAN)
    assert (anan["state"], anan["reason"], anan["in_state_s"]) == ("paused", "Lunch", 60)
    assert anan["queues"] == ["q1169", "q1662"]
    assert floor.membership(PBX, ANAN) == Membership(frozenset({"q1169", "q1662"}), True, "Lunch")
    await floor.handle(MemberRemoved(PBX, at(70), "q1169", ANAN, "Anan"))
    assert floor.membership(PBX, ANAN) == Membership(frozenset({"q1662"}), True, "Lunch")
    await floor.handle(MemberRemoved(PBX, at(71), "q1662", ANAN, "Anan"))
    assert floor.view(at(72))["agents"] == []
    assert floor.membership(PBX, ANAN) is None


async def test_after_a_lost_link_the_picture_is_stale_until_the_pbx_resends_it() -> None:
    floor = Floor(wrapup_s=0)
    assert floor.health() == (True, "current", None)
    await floor.handle(LinkDown(PBX, at(20), "connection reset"))
    await floor.handle(LinkUp(PBX, at(25)))
    assert floor.view(at(30))["links_down"] == [{"pbx": PBX, "since_s": 10}]
    assert floor.health() == (False, f"not current for {PBX}: link lost", at(20))
    await floor.handle(PbxSnapshot(PBX, at(26), waiting=(), connected=(), members=()))
    assert floor.view(at(30))["links_down"] == []
    assert floor.health()[0] is True

"""The simulator configured like deploy/asterisk, replaying the dynamic-member captures: the
recorder's actions at their times, the phones through the API, compared with what Asterisk
22 sent (agent-shift-dynamic.txt, wrapup-time.txt, redirect-hangup-ami.txt, ...)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from pbxsim import AgentPhone, PbxSimulator
from pbxsim.dialplan import InboundPlan
from pbxsim.model import IdAllocator
from pbxsim.queue_calls import QueueCall
from telephony.ami.protocol import AmiMessage

from .conftest import AmiClient
from .queue_log_checks import queue_log_follows_the_ami
from .scripted import (
    SHIFT_EVENTS,
    Step,
    assert_like_capture,
    capture_start,
    captured_responses,
    first_events,
    recorder_actions,
    responses,
    run_script,
)
from .sequences import captured_events

Lab = Callable[..., PbxSimulator]


def caller_steps(sim: PbxSimulator, name: str, calls: list[QueueCall]) -> list[Step]:
    """Each captured caller dials in when its channel appeared and hangs up when it did."""
    steps: list[Step] = []
    arrivals = first_events(name, "Newchannel", "PJSIP/trunk")
    for at, message in arrivals:
        number, caller_name = message["CallerIDNum"], message["CallerIDName"]

        async def dial(number: str = number, caller_name: str = caller_name) -> None:
            calls.append(await sim.place_call("hotline", number, caller_name))

        steps.append(Step(at, dial))
    channels = [message["Channel"] for _, message in arrivals]
    for at, message in first_events(name, "HangupRequest", "PJSIP/trunk"):

        async def hang_up(index: int = channels.index(message["Channel"])) -> None:
            await sim.hangup(calls[index], by="caller")

        steps.append(Step(at, hang_up))
    return steps


@pytest.fixture
async def shipped() -> AsyncIterator[Lab]:
    sims: list[PbxSimulator] = []

    def make(name: str, **kwargs: object) -> PbxSimulator:
        kwargs.setdefault("channelvars", ())  # set in manager.conf for click-to-call.txt only
        sim = PbxSimulator.shipped(
            speed=10.0, epoch=capture_start(name), device_state_events=False, **kwargs
        )
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        await sim.stop()


async def _replay(sim: PbxSimulator, name: str, steps: list[Step]) -> list[AmiMessage]:
    await sim.start()
    client = await AmiClient.connect(*sim.address)
    await client.login()
    try:
        return await run_script(sim, client, name, steps)
    finally:
        await client.close()


async def test_a_shift_of_a_dynamic_member_is_the_capture(shipped: Lab) -> None:
    name = "agent-shift-dynamic.txt"
    sim = shipped(name)
    assert list(sim.members("hotline")) == []
    calls: list[QueueCall] = []
    received = await _replay(sim, name, caller_steps(sim, name, calls))
    assert responses(received) == captured_responses(name)
    assert_like_capture(received, name)
    status = [m for m in received if m.name == "QueueMember"]
    assert [(m["Paused"], m["PausedReason"]) for m in status] == [
        ("1", "login"),
        ("0", ""),
        ("1", "lunch"),
    ]
    # LastPause is when the last pause began: unpausing leaves it alone.
    removed = next(m for m in received if m.name == "QueueMemberRemoved")
    lunch = next(m for m in received if m.name == "QueueMemberPause" and m["Paused"] == "1")
    assert removed["LastPause"] == lunch["LastPause"] != "0"
    assert [c.outcome for c in calls] == ["answered", "answered"]


async def test_queue_wrapup_holds_the_agent_silently_and_a_wrapup_pause_races_the_hangup(
    shipped: Lab,
) -> None:
    name = "wrapup-time.txt"
    sim = shipped(name, device_lag=0.5)
    queue = sim.core.queues["hotline"]
    queue.wrapuptime = 10
    calls: list[QueueCall] = []
    steps = caller_steps(sim, name, calls)
    part_b = next(at for at, pairs in recorder_actions(name) if ("ActionID", "wrapup-5") in pairs)

    async def reload_parameters() -> None:
        queue.wrapuptime = 0  # `queue reload parameters hotline`: no AMI event

    received = await _replay(sim, name, [*steps, Step(part_b - 0.5, reload_parameters)])
    assert responses(received) == captured_responses(name)
    assert_like_capture(received, name)
    # No event names the wrap-up; caller B is rung on the first check after LastCall + 10 s.
    a_hung_up = first_events(name, "HangupRequest", "PJSIP/trunk")[0][0]
    b_rung = calls[1].attempts[0].start
    assert int(a_hung_up) + 10 <= b_rung < int(a_hung_up) + 12
    # Service-style wrap-up: the pause sees the phone still in use, then the idle phone.
    wrapup = [
        (m.name, m["Status"], m["Paused"])
        for m in received
        if m.name in ("QueueMemberPause", "QueueMemberStatus") and m["PausedReason"] == "wrapup"
    ]
    assert wrapup == [("QueueMemberPause", "2", "1"), ("QueueMemberStatus", "1", "1")]
    unpaused_at = next(
        at for at, pairs in recorder_actions(name) if ("ActionID", "wrapup-8") in pairs
    )
    assert unpaused_at <= calls[3].attempts[0].start < unpaused_at + 1.1


def numbered_like(sim: PbxSimulator, name: str) -> None:
    """Start the channel counter where the capture's first caller was, so the actions the
    recorder sent (naming channels) name the simulator's channels too."""
    first = first_events(name, "Newchannel", "PJSIP/")[0][1]["Channel"]
    sim.core.ids = IdAllocator(int(first.rsplit("-", 1)[1], 16))


async def test_hangup_of_the_agent_leg_and_redirects_of_waiting_callers(shipped: Lab) -> None:
    name = "redirect-hangup-ami.txt"
    sim = shipped(name, queue_timeout=None)
    numbered_like(sim, name)
    calls: list[QueueCall] = []
    steps = caller_steps(sim, name, calls)
    ringing_caller = first_events(name, "Newchannel", "PJSIP/trunk")[2][0]

    async def agent_stops_answering() -> None:
        sim.set_agent_phone("PJSIP/agent101", AgentPhone.manual())

    received = await _replay(sim, name, [*steps, Step(ringing_caller - 1, agent_stops_answering)])
    assert responses(received) == captured_responses(name)
    assert_like_capture(received, name)
    complete = next(m for m in received if m.name == "AgentComplete")
    assert complete["Reason"] == "caller"  # an AMI Hangup of the agent leg, not "agent"
    assert [c.outcome for c in calls] == ["answered", "redirected", "redirected"]


async def test_queue_timeout_and_exit_by_key_come_back_to_the_dialplan(shipped: Lab) -> None:
    name = "queue-timeout-exit-dialplan.txt"
    lab_1170 = InboundPlan(
        timeout=8,
        exit_event="QueueExit,Status: {status}",
        exit_context="hotline-exit",
        key_exit_event="QueueExit,Status: EXITWITHKEY,Digit: {digit}",
    )
    sim = shipped(name, plan=lab_1170, exten="1170")
    calls: list[QueueCall] = []
    steps = caller_steps(sim, name, calls)
    (key_at, key), *_ = first_events(name, "DTMFEnd", "PJSIP/trunk")
    (agent_bye, _), *_ = first_events(name, "HangupRequest", "PJSIP/agent")

    async def press() -> None:
        await sim.press(calls[1], key["Digit"])

    async def agent_hangs_up() -> None:
        await sim.hangup(calls[2], by="agent")

    received = await _replay(
        sim, name, [*steps, Step(key_at, press), Step(agent_bye, agent_hangs_up)]
    )
    assert responses(received) == captured_responses(name)
    assert_like_capture(received, name)
    abandon = next(m for m in received if m.name == "QueueCallerAbandon")
    assert abandon["HoldTime"] == "8"
    assert [c.outcome for c in calls] == ["timeout", "exitwithkey", "answered"]


async def test_blind_transfers_over_ami_move_the_other_leg(shipped: Lab) -> None:
    name = "blind-transfer-ami.txt"
    sim = shipped(name, queue_timeout=None)
    numbered_like(sim, name)
    calls: list[QueueCall] = []
    received = await _replay(sim, name, caller_steps(sim, name, calls))
    assert responses(received) == captured_responses(name)
    assert_like_capture(received, name)
    transfers = [m for m in received if m.name == "BlindTransfer"]
    assert [(m["TransfererChannel"][:12], m["Extension"], m["IsExternal"]) for m in transfers] == [
        ("PJSIP/trunk-", "2102", "Yes"),
        ("PJSIP/agent1", "2102", "Yes"),
        ("PJSIP/agent1", "1169", "Yes"),
    ]
    joins = [m["Uniqueid"] for m in received if m.name == "QueueCallerJoin"]
    assert len(joins) == 4 and joins[2] == joins[3]  # back into the queue: the same caller
    assert [c.outcome for c in calls] == ["transferred", "transferred", "transferred"]
    rows = queue_log_follows_the_ami(sim)
    completes = [m for m in received if m.name == "AgentComplete" and m["Reason"] == "transfer"]
    logged = [r for r in rows if r[3] == "BLINDTRANSFER"]
    assert [r[4:6] for r in logged] == [("2102", "from-agents")] * 2 + [("1169", "from-agents")]
    assert [(r[0], r[6], r[7]) for r in logged] == [
        (m["Uniqueid"], m["HoldTime"], m["TalkTime"]) for m in completes
    ]


CLICK_TO_CALL = {
    "Newchannel",
    "NewCallerid",
    "OriginateResponse",
    "DialBegin",
    "DialEnd",
    "BridgeEnter",
    "HangupRequest",
    "SoftHangupRequest",
}


async def test_click_to_call_rings_the_agent_then_the_citizen_and_names_the_case(
    shipped: Lab,
) -> None:
    name = "click-to-call.txt"
    sim = shipped(name, channelvars=("HOTLINE_CALLBACK",))
    numbered_like(sim, name)
    sim.set_outside_phone(AgentPhone.answers_after(3.0))
    (bye, citizen), *_ = first_events(name, "HangupRequest", "PJSIP/trunk")

    async def citizen_hangs_up() -> None:
        assert sim.hang_up_channel(citizen["Channel"])

    received = await _replay(sim, name, [Step(bye, citizen_hangs_up)])
    assert responses(received) == captured_responses(name)
    assert_like_capture(received, name, CLICK_TO_CALL)
    # Every event of every channel names the case; the citizen's leg has it empty.
    channel_events = [
        m
        for m in received
        if "Uniqueid" in m and "Privilege" in m and m.name not in ("OriginateResponse", "Cdr")
    ]
    assert channel_events and all("ChanVariable" in m for m in channel_events)
    agent_leg = {
        m["ChanVariable"] for m in channel_events if m["Channel"].startswith("PJSIP/agent")
    }
    assert agent_leg == {"HOTLINE_CALLBACK=", "HOTLINE_CALLBACK=case-42"}
    originated = next(m for m in received if m.name == "OriginateResponse")
    assert originated[f"ChanVariable({originated['Channel']})"] == "HOTLINE_CALLBACK=case-42"


async def test_attended_transfer_needs_a_feature_code_then_completes_when_the_agent_hangs_up(
    shipped: Lab,
) -> None:
    name = "attended-transfer-ami.txt"
    sim = shipped(name, queue_timeout=None, atxfer_code=None)
    numbered_like(sim, name)
    calls: list[QueueCall] = []
    steps = caller_steps(sim, name, calls)
    (reload_at, _), *_ = first_events(name, "Reload", "")

    async def reload_features() -> None:
        sim.core.atxfer_code = "*2"  # features.conf edited + `module reload features`

    steps.append(Step(reload_at, reload_features))
    for index, (at, _) in enumerate(first_events(name, "HangupRequest", "PJSIP/agent")):

        async def agent_hangs_up(index: int = index) -> None:
            await sim.hangup(calls[index], by="agent")

        steps.append(Step(at, agent_hangs_up))
    received = await _replay(sim, name, steps)
    assert responses(received) == captured_responses(name)
    assert_like_capture(received, name, SHIFT_EVENTS | {"AttendedTransfer", "Hold"})
    completes = [m["Reason"] for m in received if m.name == "AgentComplete"]
    assert completes == ["agent", "transfer"]
    transfer = next(m for m in received if m.name == "AttendedTransfer")
    assert [k for k, _ in transfer] == [
        k for k, _ in next(m for m in captured_events(name) if m.name == "AttendedTransfer")
    ]
    assert transfer["DestBridgeUniqueid"] == transfer["OrigBridgeUniqueid"]
    rows = queue_log_follows_the_ami(sim)
    done = next(m for m in received if m.name == "AgentComplete" and m["Reason"] == "transfer")
    assert [r for r in rows if r[3] == "ATTENDEDTRANSFER"] == [
        (
            done["Uniqueid"],
            "hotline",
            done["MemberName"],
            "ATTENDEDTRANSFER",
            "BRIDGE",
            transfer["DestBridgeUniqueid"],
            done["HoldTime"],
            done["TalkTime"],
            "1",
        )
    ]
    consult = [m["Channel"] for m in received if m.name == "Newchannel"]
    assert "Local/2102@from-agents-00000000;1" in consult

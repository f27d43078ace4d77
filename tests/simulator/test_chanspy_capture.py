"""The simulator configured like deploy/asterisk answers the supervisor's Originates into
ChanSpy like Asterisk 22 did in chanspy-listen-whisper-barge.txt: the same events with the
same fields, in the same order, for listen, whisper and barge; and a spy ends with its call."""

from __future__ import annotations

from pbxsim.phones import CustomerPhone
from pbxsim.queue_calls import QueueCall
from telephony.ami.protocol import AmiMessage

from .conftest import AmiClient
from .scripted import assert_like_capture, captured_responses, responses
from .sequences import captured_events, keys
from .test_shift_captures import Lab, _replay, caller_steps, shipped

__all__ = ["shipped"]

NAME = "chanspy-listen-whisper-barge.txt"
SPY_EVENTS = {
    "Newchannel",
    "NewConnectedLine",
    "DialBegin",
    "OriginateResponse",
    "ChanSpyStart",
    "ChanSpyStop",
    "HangupRequest",
    "QueueCallerJoin",
    "AgentConnect",
    "AgentComplete",
}

# The supervisor's leg as the shipped AMI account reads it (no dialplan class).
LEG_EVENTS = {
    "Newchannel",
    "NewConnectedLine",
    "DialBegin",
    "DialState",
    "Newstate",
    "DialEnd",
    "OriginateResponse",
    "ChanSpyStart",
    "ChanSpyStop",
    "HangupRequest",
    "Cdr",
    "Hangup",
}


def _supervisor_leg(messages: list[AmiMessage]) -> list[AmiMessage]:
    return [
        m
        for m in messages
        if ("Response" not in m or m.name == "OriginateResponse")
        and any(
            (m.get(k) or "").startswith("PJSIP/super201")
            for k in ("Channel", "DestChannel", "SpyerChannel")
        )
    ]


async def test_listen_whisper_and_barge_are_the_capture(shipped: Lab) -> None:
    sim = shipped(NAME)
    sim.set_customer_phone("PJSIP/super201", CustomerPhone.hangs_up(after=5.0, ring=1.0))
    calls: list[QueueCall] = []
    received = await _replay(sim, NAME, caller_steps(sim, NAME, calls))
    assert responses(received) == captured_responses(NAME)
    assert_like_capture(received, NAME, SPY_EVENTS)
    mine, real = _supervisor_leg(received), _supervisor_leg(captured_events(NAME))
    ours = [(m.name, keys(m)) for m in mine if m.name in LEG_EVENTS]
    theirs = [(m.name, keys(m)) for m in real if m.name in LEG_EVENTS]
    # Each event with the capture's fields; the order too, but for the ringing and answer
    # events, whose order changed between the capture's three runs.
    assert sorted(ours) == sorted(theirs)
    ordered = LEG_EVENTS - {"DialState", "Newstate", "DialEnd", "OriginateResponse"}
    assert [o for o in ours if o[0] in ordered] == [t for t in theirs if t[0] in ordered]
    assert len(ours) == 3 * 13
    starts = [m for m in received if m.name == "ChanSpyStart"]
    assert [m["SpyeeChannel"].rsplit("-", 1)[0] for m in starts] == ["PJSIP/agent101"] * 3
    assert [c.outcome for c in calls] == ["answered"]


async def test_a_spy_ends_with_the_call_it_hears(shipped: Lab) -> None:
    """Option E: the agent's channel gone, ChanSpy stops and the supervisor's leg hangs up."""
    sim = shipped(NAME)
    await sim.start()
    client = await AmiClient.connect(*sim.address)
    await client.login()
    try:
        sim.add_member("hotline", "PJSIP/agent101", "Agent 101", dynamic=True)
        call = await sim.place_call("hotline", "0811000601", "Spied Caller")
        await sim.wait_for_event("AgentConnect", Uniqueid=call.uniqueid)
        client.send(
            "Originate",
            Channel="PJSIP/super201",
            Application="ChanSpy",
            Data="PJSIP/agent101-,qEB",
            Async="true",
            ChannelId="spy-1",
        )
        await sim.wait_for_event("ChanSpyStart", SpyerUniqueid="spy-1")
        await sim.hangup(call, by="caller")
        stop = await sim.wait_for_event("ChanSpyStop", SpyerUniqueid="spy-1")
        gone = await sim.wait_for_event("Hangup", Uniqueid="spy-1")
    finally:
        await client.close()
    assert stop["SpyeeChannel"].startswith("PJSIP/agent101-")
    assert gone["Cause"] == "16"
    assert sim.core.find_channel(gone["Channel"]) is None

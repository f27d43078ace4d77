"""The shipped dialplan's overflow: after the queue timeout (or a key pressed while waiting)
the caller hears a message and may press 1 for a callback, announced exactly as
`UserEvent(CallbackRequest,Queue: hotline,Number: ${CALLERID(num)},Uniqueid: ${UNIQUEID})`."""

from __future__ import annotations

from pbxsim import PbxSimulator
from pbxsim.queue_calls import QueueCall
from telephony.ami.protocol import AmiMessage

from .conftest import AmiClient


async def _user_events(client: AmiClient, call: QueueCall) -> list[list[tuple[str, str]]]:
    seen = await client.until(lambda m: m.name == "Hangup" and m["Uniqueid"] == call.uniqueid)
    return [list(m) for m in seen if m.name == "UserEvent"]


def _tail(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs after the channel block: what the dialplan put in the UserEvent."""
    names = [k for k, _ in pairs]
    return pairs[names.index("UserEvent") :]


async def test_a_timed_out_caller_who_presses_1_asks_for_a_callback() -> None:
    async with PbxSimulator.shipped(speed=20.0, queue_timeout=6) as sim:
        client = await AmiClient.connect(*sim.address)
        await client.login()
        call = await sim.place_call("hotline", "0812345678", "Somchai")
        await sim.wait_for_event("Newexten", Uniqueid=call.uniqueid, Application="Read")
        await sim.press(call, "1")
        events = await _user_events(client, call)
        await client.close()
    assert [_tail(e) for e in events] == [
        [
            ("UserEvent", "QueueExit"),
            ("Queue", "hotline"),
            ("Status", "TIMEOUT"),
            ("Uniqueid", call.uniqueid),
        ],
        [
            ("UserEvent", "CallbackRequest"),
            ("Queue", "hotline"),
            ("Number", "0812345678"),
            ("Uniqueid", call.uniqueid),
        ],
    ]
    abandon = await sim.wait_for_event("QueueCallerAbandon", Uniqueid=call.uniqueid)
    assert abandon["HoldTime"] == "6"
    assert call.outcome == "callback"


async def test_a_key_pressed_while_waiting_leaves_the_queue_and_no_key_asks_for_nothing() -> None:
    async with PbxSimulator.shipped(speed=20.0) as sim:
        client = await AmiClient.connect(*sim.address)
        await client.login()
        call = await sim.place_call("hotline", "0812345679", "Somsri")
        await sim.press(call, "5")
        events = await _user_events(client, call)
        await client.close()
    assert [_tail(e) for e in events] == [
        [
            ("UserEvent", "QueueExit"),
            ("Queue", "hotline"),
            ("Status", "EXITWITHKEY"),
            ("Digit", "5"),
            ("Uniqueid", call.uniqueid),
        ]
    ]
    assert call.outcome == "exitwithkey"
    assert not any(e.name == "QueueCallerAbandon" for e in map(AmiMessage, sim.events))


async def test_a_caller_who_hangs_up_during_the_overflow_message_is_not_called_back() -> None:
    async with PbxSimulator.shipped(speed=20.0, queue_timeout=3) as sim:
        call = await sim.place_call("hotline", "0812345670", "Somying")
        await sim.wait_for_event("Newexten", Uniqueid=call.uniqueid, Application="Read")
        await sim.hangup(call)
        await call.ended.wait()
        assert call.outcome == "timeout"
        names = [m["UserEvent"] for m in map(AmiMessage, sim.events) if m.name == "UserEvent"]
    assert names == ["QueueExit"]

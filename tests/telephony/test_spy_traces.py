"""chanspy-listen-whisper-barge.txt replayed: a supervisor's phone spied on agent101's queue
call three times (listen, whisper, barge). Each spy is a typed start and end naming the call
and the agent, and none of it changes the queue call's figures or the agent's talk."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from telephony.ami.protocol import AmiMessage
from telephony.commands import AmiCallControl
from telephony.events import SpyEnded, SpyStarted
from telephony.spying import chanspy_data, mode_of
from tests.telephony.fake_ami import FakeAmi, reply, sent
from tests.telephony.test_outcome_traces import replay_shipped, row
from tests.telephony.test_traces import PBX

CAPTURE = "chanspy-listen-whisper-barge.txt"
CALLER = "1796205152.87"
SPYERS = ("1796205156.89", "1796205164.90", "1796205171.91")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def test_each_spy_starts_and_ends_on_the_agents_call_in_its_mode() -> None:
    result = await replay_shipped(CAPTURE)
    spies = [e for e in result.events if isinstance(e, SpyStarted | SpyEnded)]
    call_key = f"{PBX}/hotline/{CALLER}"
    assert [(type(e).__name__, e.spyer_uniqueid, e.call_key) for e in spies] == [
        (kind, spyer, call_key) for spyer in SPYERS for kind in ("SpyStarted", "SpyEnded")
    ]
    started = [e for e in spies if isinstance(e, SpyStarted)]
    assert [e.mode for e in started] == ["listen", "whisper", "barge"]
    assert {(e.interface, e.spyee_channel) for e in started} == {
        ("PJSIP/agent101", "PJSIP/agent101-00000054")
    }
    assert started[0].spyer_channel == "PJSIP/super201-00000055"
    assert started[0].at == at("2026-12-02T09:52:37.766698")
    ended = [e for e in spies if isinstance(e, SpyEnded)]
    assert ended[0].at == at("2026-12-02T09:52:42.699656")
    # Each time the supervisor's phone hung up first (HangupRequest before ChanSpyStop).
    assert [e.by for e in ended] == ["supervisor"] * 3


async def test_the_spies_leave_the_queue_call_and_the_agents_talk_as_without_them() -> None:
    """The same capture with every frame of the supervisor's legs removed stores the very
    same call: one queue call, its wait, talk and end unchanged."""
    with_spies = await replay_shipped(CAPTURE)
    without = await replay_shipped(CAPTURE, skip=_of_a_spyer)
    assert list(with_spies.sink.rows) == [f"{PBX}/hotline/{CALLER}"]
    assert asdict(row(with_spies, CALLER)) == asdict(row(without, CALLER))
    record = row(with_spies, CALLER)
    assert record.talk_s is not None and 27 <= record.talk_s <= 29
    assert record.hung_up_by == "caller"
    assert with_spies.floor.view(at("2026-12-02T09:53:05")) == without.floor.view(
        at("2026-12-02T09:53:05")
    )
    assert with_spies.translator.tracked_calls == 0


def _of_a_spyer(msg: AmiMessage) -> bool:
    ids = {msg.get(key) for key in ("Uniqueid", "DestUniqueid", "SpyerUniqueid", "UniqueID")}
    return bool(ids & set(SPYERS)) or msg.name == "OriginateResponse"


def test_the_chanspy_options_of_each_mode_are_the_captures() -> None:
    assert [chanspy_data("PJSIP/agent101", m) for m in ("listen", "whisper", "barge")] == [
        "PJSIP/agent101-,qE",
        "PJSIP/agent101-,qEw",
        "PJSIP/agent101-,qEB",
    ]
    assert [mode_of(d) for d in ("PJSIP/agent101,qE", "PJSIP/agent101,qEw", "x,qEB")] == [
        "listen",
        "whisper",
        "barge",
    ]
    assert mode_of("PJSIP/agent101") is None


async def test_spy_originates_the_supervisors_phone_into_chanspy(
    ami: FakeAmi, control: AmiCallControl
) -> None:
    def answered(action: AmiMessage) -> bytes:
        response = AmiMessage(
            [
                ("Event", "OriginateResponse"),
                ("Privilege", "call,all"),
                ("ActionID", action.action_id or ""),
                ("Response", "Success"),
                ("Channel", "PJSIP/super201-00000055"),
                ("Application", "ChanSpy"),
                ("Data", action["Data"]),
                ("Reason", "4"),
                ("Uniqueid", action["ChannelId"]),
            ]
        )
        return reply(action, "Message: Originate successfully queued") + response.encode()

    ami.responders["Originate"] = answered
    result = await control.spy(
        "pbx1", "PJSIP/super201", "PJSIP/agent101", "whisper", channel_id="spy-1"
    )
    assert (result.outcome, result.channel_id) == ("answered", "spy-1")
    assert sent(ami, "Originate") == [
        ("Action", "Originate"),
        ("Channel", "PJSIP/super201"),
        ("Application", "ChanSpy"),
        ("Data", "PJSIP/agent101-,qEw"),
        ("Timeout", "20000"),
        ("Async", "true"),
        ("ChannelId", "spy-1"),
    ]


async def test_a_chanspy_that_stops_without_the_supervisor_hanging_up_ended_with_the_call() -> None:
    """Option E: ChanSpy leaves when the spied channel goes, with no HangupRequest first."""
    result = await replay_shipped(
        CAPTURE, skip=lambda m: m.name == "HangupRequest" and m.get("Uniqueid") in SPYERS
    )
    ended = [e for e in result.events if isinstance(e, SpyEnded)]
    assert [(e.spyer_uniqueid, e.by) for e in ended] == [(s, "call") for s in SPYERS]

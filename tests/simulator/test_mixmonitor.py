"""MixMonitor, MixMonitorMute and StopMixMonitor answered as mixmonitor.txt shows, and a real
WAV written into the shared folder (silent while muted) when the recording ends."""

from __future__ import annotations

import struct
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pbxsim import AgentPhone, PbxSimulator
from telephony.ami.protocol import AmiMessage

from .conftest import AmiClient, capture_messages
from .sequences import keys

CAPTURE = "mixmonitor.txt"


def _real(action_id: str) -> AmiMessage:
    return next(m for m in capture_messages(CAPTURE) if m.action_id == action_id)


def _real_event(name: str, **fields: str) -> AmiMessage:
    return next(
        m
        for m in capture_messages(CAPTURE)
        if m.name == name and all(m.get(k) == v for k, v in fields.items())
    )


@pytest.fixture
async def recording_lab(tmp_path: Path) -> AsyncIterator[PbxSimulator]:
    sim = PbxSimulator.lab(speed=20.0, recordings_dir=tmp_path)
    sim.set_default_agent_phone(AgentPhone.answers_after(0.2))
    await sim.start()
    yield sim
    await sim.stop()


async def test_actions_are_answered_and_reported_like_the_capture(
    recording_lab: PbxSimulator, tmp_path: Path
) -> None:
    client = await AmiClient.connect(*recording_lab.address)
    await client.login()
    call = await recording_lab.place_call("hotline", "0811000701", "Recorded Caller One")
    await call.connected.wait()
    channel = call.caller.name
    file = f"/var/spool/asterisk/monitor/{call.caller.uniqueid}.wav"
    started = await client.ask("MixMonitor", "m-3", Channel=channel, File=file, Options="b")
    assert keys(started[-1]) == keys(_real("mixmon-3"))
    start = await client.until(lambda m: m.name == "MixMonitorStart")
    assert keys(start[-1]) == keys(_real_event("MixMonitorStart", Exten="1169"))
    for state, action_id in (("1", "mixmon-4"), ("0", "mixmon-5")):
        answer = await client.ask(
            "MixMonitorMute", action_id, Channel=channel, Direction="both", State=state
        )
        assert keys(answer[-1]) == keys(_real(action_id))
        mute = (await client.until(lambda m: m.name == "MixMonitorMute"))[-1]
        assert keys(mute) == keys(_real_event("MixMonitorMute", State=state))
        assert (mute["Channel"], mute["State"], mute["Direction"]) == (channel, state, "both")
    stopped = await client.ask("StopMixMonitor", "mixmon-6", Channel=channel)
    assert keys(stopped[-1]) == keys(_real("mixmon-6"))
    assert (await client.until(lambda m: m.name == "MixMonitorStop"))[-1]["Channel"] == channel
    for action, action_id, fields in (
        ("StopMixMonitor", "mixmon-7", {"Channel": channel}),
        ("MixMonitor", "mixmon-8", {"Channel": "PJSIP/nosuch-00000000", "File": file}),
    ):
        mine = (await client.ask(action, action_id, **fields))[-1]
        real = _real(action_id)
        assert (mine["Response"], mine["Message"]) == (real["Response"], real["Message"])
    await client.close()
    with wave.open(str(tmp_path / f"{call.caller.uniqueid}.wav")) as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        assert audio.getnframes() > 0


async def test_a_hangup_ends_the_recording_without_mixmonitorstop(
    recording_lab: PbxSimulator, tmp_path: Path
) -> None:
    client = await AmiClient.connect(*recording_lab.address)
    await client.login()
    call = await recording_lab.place_call("hotline", "0811000702", "Recorded Caller Two")
    await call.connected.wait()
    channel = call.caller.name
    file = "/var/spool/asterisk/monitor/two.wav"
    await client.ask("MixMonitor", "a", Channel=channel, File=file, Options="b")
    await recording_lab.clock.sleep(1.0)
    await client.ask("MixMonitorMute", "b", Channel=channel, Direction="both", State="1")
    await recording_lab.clock.sleep(1.0)
    await recording_lab.hangup(call)
    await recording_lab.wait_for_event("Hangup", Uniqueid=call.caller.uniqueid)
    await client.close()
    assert "MixMonitorStop" not in recording_lab.event_names()
    with wave.open(str(tmp_path / "two.wav")) as audio:
        frames = audio.readframes(audio.getnframes())
    samples = [s for (s,) in struct.iter_unpack("<h", frames)]
    half = len(samples) // 2
    assert max(samples[: half // 2]) > 1000, "the tone before the mute"
    assert max(abs(s) for s in samples[-half // 2 :]) == 0, "silence from the mute on"

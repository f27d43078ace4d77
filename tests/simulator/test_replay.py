"""Replay mode: every capture's events reach the client byte for byte, after its own login."""

from __future__ import annotations

import asyncio

import pytest

from pbxsim import PbxSimulator
from telephony.ami.capture import read_capture
from tests.fixtures import AMI_CAPTURES, AMI_TRACES

from .conftest import AmiClient


def _expected(name: str) -> bytes:
    own_login = (b"Event: FullyBooted\r\n", b"Event: SuccessfulAuth\r\n")
    return b"".join(
        item.data
        for item in read_capture(AMI_TRACES / name)
        if item.kind == "rx"
        and item.data.startswith(b"Event: ")
        and b"\r\nPrivilege: " in item.data
        and not item.data.startswith(own_login)
    )


@pytest.mark.parametrize("capture", AMI_CAPTURES)
async def test_replay_delivers_the_capture_byte_for_byte(capture: str) -> None:
    async with PbxSimulator(replay=AMI_TRACES / capture) as sim:
        c = await AmiClient.connect(*sim.address)
        try:
            await c.login()
            await sim.wait_replayed()
            await c.ask("Ping", "end")
        finally:
            await c.close()
    expected = _expected(capture)
    assert expected.count(b"\r\n\r\n") >= 3
    auth = c.raw.index(b"Event: SuccessfulAuth\r\n")
    received = bytes(c.raw[c.raw.index(b"\r\n\r\n", auth) + 4 :])
    assert received.startswith(expected)
    assert received[len(expected) :].startswith(b"Response: Success\r\nActionID: end\r\nPing: Pong")


async def test_replay_answers_the_clients_own_actions() -> None:
    async with PbxSimulator(replay=AMI_TRACES / "member-pause.txt", replay_autostart=False) as sim:
        c = await AmiClient.connect(*sim.address)
        try:
            await c.login()
            c.send("QueueStatus", ActionID="mine")
            seen = await c.until(lambda m: m.name == "QueueStatusComplete")
            assert {m.action_id for m in seen} == {"mine"}
            assert "member-pause-3" not in bytes(c.raw).decode()
            assert sim.replay is not None
            sim.replay.release()
            await sim.wait_replayed()
            pauses = await c.until(lambda m: m.name == "QueueMemberPause" and m["Paused"] == "0")
            assert pauses[-1]["Interface"] == "PJSIP/agent101"
        finally:
            await c.close()


async def test_replay_honours_timing_with_a_speed_factor() -> None:
    capture = AMI_TRACES / "member-pause.txt"
    async with PbxSimulator(replay=capture, replay_speed=100.0) as sim:
        c = await AmiClient.connect(*sim.address)
        try:
            await c.login()
            first = await c.until(lambda m: m.name == "QueueMemberPause")
            assert first[-1]["PausedReason"] == "Lunch break"
            assert sim.replay is not None and sim.replay.finished == 0
            await asyncio.wait_for(sim.wait_replayed(), 5)
        finally:
            await c.close()

"""`python -m pbxsim` as the demo runs it: a real process, a real AMI port."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys

from pbxsim import PbxSimulator
from pbxsim.__main__ import build_parser, simulator_from
from tests.fixtures import AMI_TRACES

from .conftest import AmiClient


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_cli_replays_a_capture_and_stops_on_sigterm() -> None:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pbxsim",
        "--ami-port",
        str(port),
        "--secret",
        "s3cret",
        "--replay",
        str(AMI_TRACES / "member-pause.txt"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    try:
        await asyncio.wait_for(process.stdout.readuntil(b"pbx_sim_ready"), 20)
        client = await AmiClient.connect("127.0.0.1", port)
        try:
            assert (await client.login(secret="s3cret"))[0]["Response"] == "Success"
            pause = await client.until(lambda m: m.name == "QueueMemberPause")
            assert pause[-1]["PausedReason"] == "Lunch break"
        finally:
            await client.close()
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0


async def test_event_mask_filters_by_class() -> None:
    async with PbxSimulator.lab(speed=50.0) as sim:
        client = await AmiClient.connect(*sim.address)
        try:
            await client.banner()
            client.send("Login", Username="hotline", Secret="hotline", Events="agent")
            await client.until(lambda m: m.get("Response") == "Success")
            sim.pause("PJSIP/agent101", True, "Lunch")
            seen = await client.ask("Ping", "p")
        finally:
            await client.close()
    assert [m.name for m in seen] == ["FullyBooted", "QueueMemberPause", None]


def test_shipped_starts_with_every_agent_signed_out() -> None:
    args = build_parser().parse_args(["--shipped", "--queue-timeout", "30", "--agents", "2"])
    sim = simulator_from(args)
    assert list(sim.members("hotline")) == []
    assert sim.queue_engine.plan.app_data("hotline") == "hotline,ct,,,30"
    assert sim.originate.endpoints == {"PJSIP/agent101", "PJSIP/agent102", "PJSIP/super201"}
    lab = simulator_from(build_parser().parse_args([]))
    assert [m.interface for m in lab.members("hotline")] == [
        "PJSIP/agent101",
        "PJSIP/agent102",
        "PJSIP/agent103",
    ]

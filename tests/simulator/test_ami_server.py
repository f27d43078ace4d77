"""The AMI session as a client sees it: banner, login, ping, errors, robustness."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket

import pytest

from pbxsim import PbxSimulator

from .conftest import AmiClient, capture_messages
from .sequences import keys


async def test_banner_is_asterisk_22s(lab: PbxSimulator) -> None:
    c = await AmiClient.connect(*lab.address)
    try:
        assert await c.banner() == b"Asterisk Call Manager/11.0.0\r\n"
    finally:
        await c.close()


async def test_login_answers_like_the_capture(lab: PbxSimulator) -> None:
    c = await AmiClient.connect(*lab.address)
    try:
        mine = await c.login()
    finally:
        await c.close()
    real = capture_messages("answered-call.txt")[:3]
    assert [keys(m) for m in mine] == [keys(m) for m in real]
    assert mine[0].pairs == (
        ("Response", "Success"),
        ("ActionID", "login-1"),
        ("Message", "Authentication accepted"),
    )
    assert mine[1]["Status"] == "Fully Booted"
    assert mine[2]["AccountID"] == "hotline"
    assert c.raw.endswith(b"\r\n\r\n") and b"\n" not in c.raw.replace(b"\r\n", b"")


async def test_wrong_secret_is_refused_and_the_connection_closed(lab: PbxSimulator) -> None:
    c = await AmiClient.connect(*lab.address)
    try:
        replies = await c.login(secret="nope")
        assert replies[-1].pairs == (
            ("Response", "Error"),
            ("ActionID", "login-1"),
            ("Message", "Authentication failed"),
        )
        with pytest.raises(EOFError):
            await c.next(wait=2)
    finally:
        await c.close()


async def test_actions_before_login_are_denied(lab: PbxSimulator) -> None:
    c = await AmiClient.connect(*lab.address)
    try:
        await c.banner()
        c.send("QueueStatus", ActionID="q")
        reply = await c.next()
        assert (reply["Response"], reply["Message"]) == ("Error", "Permission denied")
    finally:
        await c.close()


async def test_ping_and_unknown_action(client: AmiClient) -> None:
    pong = await client.ask("Ping", "p1")
    assert keys(pong[-1]) == ["Response", "ActionID", "Ping", "Timestamp"]
    assert pong[-1]["Ping"] == "Pong"
    float(pong[-1]["Timestamp"])
    client.send("Frobnicate", ActionID="x")
    reply = (await client.until(lambda m: m.action_id == "x"))[-1]
    assert reply["Response"] == "Error"
    assert reply["Message"].startswith("Invalid/unknown command: Frobnicate.")


async def test_logoff_says_goodbye_as_in_the_capture(client: AmiClient) -> None:
    client.send("Logoff", ActionID="bye")
    reply = (await client.until(lambda m: m.action_id == "bye"))[-1]
    real = capture_messages("answered-call.txt")[-1]
    assert keys(reply) == keys(real)
    assert reply["Message"] == real["Message"]


async def test_events_off_then_on(lab: PbxSimulator, client: AmiClient) -> None:
    client.send("Events", EventMask="off", ActionID="e1")
    reply = (await client.until(lambda m: m.action_id == "e1"))[-1]
    assert reply["Events"] == "Off"
    lab.pause("PJSIP/agent101", True, "Lunch")
    seen = await client.ask("Ping", "p")
    assert [m.name for m in seen] == [None]
    client.send("Events", EventMask="on", ActionID="e2")
    await client.until(lambda m: m.action_id == "e2")
    lab.pause("PJSIP/agent101", False)
    seen = await client.until(lambda m: m.name == "QueueMemberPause")
    assert seen[-1]["Paused"] == "0"


async def test_timestamp_events_adds_timestamp_after_privilege() -> None:
    async with PbxSimulator.lab(timestamp_events=True, speed=50.0) as sim:
        c = await AmiClient.connect(*sim.address)
        try:
            await c.login()
            sim.pause("PJSIP/agent102", True, "Training")
            event = (await c.until(lambda m: m.name == "QueueMemberPause"))[-1]
        finally:
            await c.close()
    assert keys(event)[:3] == ["Event", "Privilege", "Timestamp"]
    assert abs(float(event["Timestamp"]) - sim.clock.now()) < 60


async def test_garbage_and_abrupt_clients_do_not_hurt_others(lab: PbxSimulator) -> None:
    good = await AmiClient.connect(*lab.address)
    await good.login()
    try:
        _, rude = await asyncio.open_connection(*lab.address)
        rude.write(b"\x00\xff\xfe garbage without colon\r\n\r\n" + b"Action: Login\r\nUser")
        await rude.drain()
        rude.close()
        await rude.wait_closed()
        _, loud = await asyncio.open_connection(*lab.address)
        loud.write(b"Action: Ping\r\n" + b"X" * 300_000 + b"\r\n\r\n")
        loud.close()
        await loud.wait_closed()
        reply = (await good.ask("Ping", "still-here"))[-1]
        assert reply["Ping"] == "Pong"
    finally:
        await good.close()


async def test_slow_reader_is_disconnected() -> None:
    sim = PbxSimulator.lab(speed=50.0, write_timeout=0.2, write_buffer_high=16_384)
    async with sim:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, sim.address)
        slow = AmiClient(*await asyncio.open_connection(sock=sock))
        await slow.login()
        session = next(iter(sim.server.sessions))
        server_sock = session.transport.get_extra_info("socket")  # type: ignore[union-attr]
        server_sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        slow.writer.transport.pause_reading()  # type: ignore[attr-defined]
        for i in range(2000):
            if session.closed.is_set():
                break
            sim.pause("PJSIP/agent101", i % 2 == 0, "x" * 200)
            await asyncio.sleep(0.001)
        await asyncio.wait_for(session.closed.wait(), 5)
        assert session not in sim.server.sessions
        await slow.close()


async def test_drop_and_refuse_connections(lab: PbxSimulator) -> None:
    c = await AmiClient.connect(*lab.address)
    await c.login()
    lab.drop_connections()
    with pytest.raises((EOFError, ConnectionError)):
        await c.next(wait=2)
    await c.close()
    host, port = lab.address
    await lab.refuse_connections()
    with pytest.raises(OSError):
        await asyncio.open_connection(host, port)
    await lab.accept_connections()
    again = await AmiClient.connect(host, port)
    try:
        assert (await again.login())[0]["Response"] == "Success"
    finally:
        await again.close()


async def test_random_bytes_never_break_the_server(lab: PbxSimulator) -> None:
    rng = random.Random(20261121)
    pieces = [b"Action: ", b"Login", b"\r\n", b"\n", b": ", b"\x00", b"\xff\xfe", b"ActionID"]
    pieces.append("é ไทย".encode())
    for _ in range(40):
        _, writer = await asyncio.open_connection(*lab.address)
        payload = b"".join(rng.choice(pieces) for _ in range(rng.randrange(1, 200)))
        payload += bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
        writer.write(payload)
        await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    c = await AmiClient.connect(*lab.address)
    try:
        await c.login()
        reply = (await c.ask("Ping", "after-fuzz"))[-1]
        assert reply["Ping"] == "Pong"
    finally:
        await c.close()

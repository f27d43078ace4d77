"""Call recording end to end, on the real service and the PBX simulator over TCP: the notice
before the queue, MixMonitor at the answer into a file named from the call, the agent's mute
of their own live call, playback with range requests for those who may hear it (each play in
the PDPA view log), and nothing outside the shared folder ever served."""

from __future__ import annotations

import asyncio
import os
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from aiohttp.test_utils import TestServer

from accounts.users import UserRepository
from calls.recording_files import RecordingFolder
from calls.recordings import PLAY_PURPOSE, recording_file_name
from config.settings import load_settings
from hotline.app import create_app
from pbxsim import AgentPhone, PbxSimulator
from pbxsim.dialplan import SHIPPED_NOTICE, InboundPlan
from pbxsim.queue_calls import QueueCall
from runtime.clock import SystemClock
from telephony.events import PbxSnapshot, TelephonyEvent
from tests.foundation.conftest import PASSWORD, log_in
from tests.passwords import password_hash
from tests.ui.conftest import Desk, open_page
from tests.waiting import until_true
from web.keys import db_key, event_subscribers_key

QUEUE = "1169"
PBX_FOLDER = "/var/spool/asterisk/monitor"


@dataclass
class Recorded:
    sim: PbxSimulator
    server: TestServer
    folder: Path
    somchai: Desk
    malee: Desk
    sessions: list[aiohttp.ClientSession]

    @property
    def pool(self) -> Any:
        return self.server.app[db_key].pool

    async def person(self, username: str, role: str) -> aiohttp.ClientSession:
        await UserRepository(self.pool).create(
            username=username,
            display_name=username.title(),
            password_hash=await password_hash(PASSWORD),
            role=role,
            language="en",
        )
        session = _session(self.server)
        self.sessions.append(session)
        assert await log_in(session, username) == 303
        return session


def _session(server: TestServer) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base_url=str(server.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
    )


async def _desk(server: TestServer, username: str, interface: str) -> Desk:
    user = await UserRepository(server.app[db_key].pool).create(
        username=username,
        display_name=username.title(),
        password_hash=await password_hash(PASSWORD),
        role="agent",
        pbx="sim",
        interface=interface,
        language="en",
        queues=(QUEUE,),
    )
    session = _session(server)
    return Desk(session, user.id, await open_page(session, username))


@pytest_asyncio.fixture(loop_scope="function")
async def recorded(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[Recorded]:
    folder = tmp_path / "recordings"
    folder.mkdir()
    sim = PbxSimulator(recordings_dir=folder, plan=InboundPlan(notice_event=SHIPPED_NOTICE))
    sim.add_queue(QUEUE)
    sim.set_default_agent_phone(AgentPhone.manual())
    host, port = await sim.start()
    pbx = {"name": "sim", "host": host, "port": port, "username": "hotline", "secret": "hotline"}
    settings = load_settings(
        database_url=fresh_db_url,
        data_dir=tmp_path,
        pbx=[pbx],
        recording={"enabled": True, "folder": folder, "pbx_folder": PBX_FOLDER},
    )
    app = create_app(settings, clock=SystemClock())
    synced = asyncio.Event()

    async def on_snapshot(event: TelephonyEvent) -> None:
        if isinstance(event, PbxSnapshot):
            synced.set()

    app[event_subscribers_key].append(on_snapshot)
    async with TestServer(app) as server:
        await asyncio.wait_for(synced.wait(), 10)
        somchai = await _desk(server, "somchai", "PJSIP/agent101")
        malee = await _desk(server, "malee", "PJSIP/agent102")
        sessions = [somchai.session, malee.session]
        try:
            yield Recorded(sim, server, folder, somchai, malee, sessions)
        finally:
            for session in sessions:
                await session.close()
    await sim.stop()


async def on_the_phone(rec: Recorded) -> tuple[QueueCall, str]:
    """Somchai answers a call; the simulator's call and its key on his desk."""
    assert (await rec.somchai.post("/panel/availability", availability="ready"))[0] == 200
    call = await rec.sim.place_call(QUEUE, "0812345678", "Nok")
    await rec.sim.answer("PJSIP/agent101")

    async def talking() -> str | None:
        desk = (await rec.somchai.state())["call"]
        return str(desk["call_key"]) if desk and desk["status"] == "talking" else None

    return call, await until_true(talking, within=5)


async def recording_row(rec: Recorded, call_key: str, column: str) -> Any:
    async def check() -> Any:
        return await rec.pool.fetchval(
            f"SELECT {column} FROM call_recordings WHERE call_key = $1", call_key
        )

    return await until_true(check, within=5)


async def ended_call(rec: Recorded) -> tuple[int, str]:
    """A call answered, recorded, muted once and hung up by the caller: (calls.id, key)."""
    call, call_key = await on_the_phone(rec)
    await recording_row(rec, call_key, "started_at")
    assert (await rec.somchai.post("/panel/call/recording/mute", call_key=call_key))[0] == 200
    assert (await rec.somchai.post("/panel/call/recording/unmute", call_key=call_key))[0] == 200
    await rec.sim.hangup(call)
    await recording_row(rec, call_key, "ended_at")

    async def stored() -> int | None:
        return await rec.pool.fetchval("SELECT id FROM calls WHERE call_key = $1", call_key)

    return await until_true(stored, within=5), call_key


def actions(sim: PbxSimulator, name: str) -> list[Any]:
    return [r.message for r in sim.server.actions if r.message.get("Action") == name]


async def test_the_answered_call_is_recorded_into_a_file_named_from_the_call(
    recorded: Recorded,
) -> None:
    call, call_key = await on_the_phone(recorded)
    await recording_row(recorded, call_key, "started_at")
    [start] = actions(recorded.sim, "MixMonitor")
    name = recording_file_name(call_key)
    assert start["Channel"] == call.caller.name
    assert (start["File"], start["Options"]) == (f"{PBX_FOLDER}/{name}", "b")
    await recorded.sim.hangup(call)
    assert await recording_row(recorded, call_key, "end_reason") == "call_ended"
    assert "MixMonitorStop" not in recorded.sim.event_names()
    with wave.open(str(recorded.folder / name)) as audio:
        assert (audio.getframerate(), audio.getnchannels()) == (8000, 1)
    notice = await recorded.pool.fetchrow(
        "SELECT language FROM call_recording_notices WHERE call_key = $1", call_key
    )
    assert notice["language"] == "th+en"


async def test_only_the_agent_on_the_live_call_mutes_its_recording(recorded: Recorded) -> None:
    call, call_key = await on_the_phone(recorded)
    await recording_row(recorded, call_key, "started_at")
    status, body = await recorded.malee.post("/panel/call/recording/mute", call_key=call_key)
    assert (status, body) == (403, {"error": "not_your_call"})
    forged = await recorded.somchai.session.post(
        "/panel/call/recording/mute", data={"call_key": call_key}
    )
    assert forged.status == 403, "no CSRF token, no mute"
    assert actions(recorded.sim, "MixMonitorMute") == []
    somchai = recorded.somchai
    assert (await somchai.post("/panel/call/recording/mute", call_key=call_key))[0] == 200
    await asyncio.sleep(0.3)
    assert (await somchai.post("/panel/call/recording/unmute", call_key=call_key))[0] == 200
    states = [m["State"] for m in actions(recorded.sim, "MixMonitorMute")]
    assert states == ["1", "0"]

    async def spans() -> list[Any]:
        rows = await recorded.pool.fetch(
            "SELECT muted_at, unmuted_at, muted_by FROM call_recording_mutes WHERE call_key = $1",
            call_key,
        )
        return [r for r in rows if r["unmuted_at"] is not None]

    [span] = await until_true(spans, within=5)
    assert span["muted_by"] == recorded.somchai.user_id
    assert span["unmuted_at"] > span["muted_at"]
    await recorded.sim.hangup(call)
    await recording_row(recorded, call_key, "ended_at")
    status, body = await recorded.somchai.post("/panel/call/recording/mute", call_key=call_key)
    assert status == 403, "the call is over"


async def test_playback_with_ranges_for_those_who_may_hear_it_each_play_logged(
    recorded: Recorded,
) -> None:
    call_id, call_key = await ended_call(recorded)
    supervisor = await recorded.person("ploy", "supervisor")
    admin = await recorded.person("root", "admin")
    page = await supervisor.get(f"/calls/{call_id}/recording")
    assert page.status == 200
    assert f'<audio controls preload="metadata" src="/calls/{call_id}/recording.wav"' in (
        await page.text()
    )
    url = f"/calls/{call_id}/recording.wav"
    size = (recorded.folder / recording_file_name(call_key)).stat().st_size
    first = await supervisor.get(url, headers={"Range": "bytes=0-99"})
    assert first.status == 206
    assert first.headers["Content-Range"] == f"bytes 0-99/{size}"
    assert first.headers["Content-Type"] == "audio/wav"
    assert len(await first.read()) == 100
    seek = await supervisor.get(url, headers={"Range": "bytes=100-"})
    assert seek.status == 206 and len(await seek.read()) == size - 100
    same = await supervisor.get(
        url, headers={"Range": "bytes=0-9", "If-Range": first.headers["Last-Modified"]}
    )
    assert same.status == 206
    changed = await supervisor.get(
        url, headers={"Range": "bytes=0-9", "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"}
    )
    assert changed.status == 200 and len(await changed.read()) == size
    plays = await recorded.pool.fetch(
        "SELECT user_id, subject FROM pdpa_view_log WHERE purpose = $1", PLAY_PURPOSE
    )
    assert len(plays) == 3, "the first request of each play, not the seek"
    assert {p["subject"] for p in plays} == {f"call {call_id}"}
    own = await recorded.somchai.session.get(url, headers={"Range": "bytes=0-9"})
    assert own.status == 206, "the call's own agent may hear it"
    for session in (recorded.malee.session, admin):
        for path in (url, f"/calls/{call_id}/recording"):
            assert (await session.get(path)).status == 403, path
    assert (await supervisor.get("/calls/999999/recording.wav")).status == 404


async def test_nothing_outside_the_shared_folder_is_served(
    recorded: Recorded, tmp_path: Path
) -> None:
    call_id, call_key = await ended_call(recorded)
    supervisor = await recorded.person("ploy", "supervisor")
    url = f"/calls/{call_id}/recording.wav"
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF not yours")
    served = recorded.folder / recording_file_name(call_key)
    served.unlink()
    os.symlink(secret, served)
    assert (await supervisor.get(url)).status == 404, "a link out of the folder"
    up = os.pardir + os.sep  # a climb out of the folder
    for name in (f"{up}secret.wav", str(secret), "a\x00.wav", f"{up}{up}etc/passwd"):
        try:
            await recorded.pool.execute(
                "UPDATE call_recordings SET file_name = $2 WHERE call_key = $1", call_key, name
            )
        except Exception as exc:
            assert "check" in str(exc).lower() or "0x00" in str(exc), name
        else:
            raise AssertionError(f"{name!r} was stored as a recording's file")
    for path in ("/calls/..%2F..%2Fsecret/recording.wav", "/calls/1%00/recording.wav"):
        assert (await supervisor.get(path)).status in (400, 404), path


def test_the_folder_refuses_every_name_but_a_recordings_own(tmp_path: Path) -> None:
    folder = tmp_path / "monitor"
    folder.mkdir()
    outside = tmp_path / "outside.wav"
    outside.write_bytes(b"x")
    good = recording_file_name("sim/1169/1.1")
    (folder / good).write_bytes(b"RIFF")
    linked = recording_file_name("sim/1169/2.2")
    os.symlink(outside, folder / linked)
    inner = recording_file_name("sim/1169/3.3")
    os.symlink(folder / good, folder / inner)
    shared = RecordingFolder(folder)
    assert shared.path_of(good) == (folder / good).resolve()
    up = os.pardir + os.sep
    for name in (linked, inner, f"{up}outside.wav", str(outside), f"{good}\x00", good.upper(), ""):
        assert shared.path_of(name) is None, name

"""Originate outcomes and the FastAGI side of a survey call, against a tiny AGI server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from pbxsim import CustomerPhone, Keypress, PbxSimulator
from tests.fixtures import AGI_SESSION, AMI_TRACES

from .conftest import AmiClient, capture_messages
from .sequences import captured_events, generated, keys, names

Script = Callable[["AgiPeer"], Awaitable[None]]


@dataclass
class AgiPeer:
    """The server end of one FastAGI session, as the IVR would see it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    env: dict[str, str] = field(default_factory=dict)
    raw_env: bytes = b""
    replies: list[str] = field(default_factory=list)

    async def command(self, line: str) -> str:
        self.writer.write(line.encode() + b"\n")
        reply = (await asyncio.wait_for(self.reader.readline(), 10)).decode()
        self.replies.append(reply)
        return reply


class TinyAgiServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.sessions: list[AgiPeer] = []
        self.done = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = AgiPeer(reader, writer)
        peer.raw_env = await reader.readuntil(b"\n\n")
        for line in peer.raw_env.decode().splitlines():
            key, _, value = line.partition(": ")
            if key:
                peer.env[key] = value
        self.sessions.append(peer)
        try:
            await self.script(peer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self.done.set()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> TinyAgiServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@contextlib.asynccontextmanager
async def survey_pbx(
    script: Script, phones: dict[str, CustomerPhone]
) -> AsyncIterator[tuple[PbxSimulator, TinyAgiServer, AmiClient]]:
    async with TinyAgiServer(script) as agi:
        sim = PbxSimulator.lab(
            speed=20.0, agi_port=agi.port, customer_phones=phones, prompt_seconds=0.2
        )
        async with sim:
            client = await AmiClient.connect(*sim.address)
            await client.login()
            try:
                yield sim, agi, client
            finally:
                await client.close()


def originate(client: AmiClient, channel: str, action_id: str, **extra: str) -> None:
    fields = {
        "Channel": channel,
        "Context": "survey",
        "Exten": "s",
        "Priority": "1",
        "Timeout": "8000",
        "CallerID": '"Hotline Survey" <1169>',
        "Async": "true",
    }
    fields.update(extra)
    client.send("Originate", ActionID=action_id, **fields)


async def capture_like_script(peer: AgiPeer) -> None:
    """The commands of agi-survey-session.txt."""
    await peer.command("ANSWER")
    await peer.command('VERBOSE "hotline survey: started" 1')
    await peer.command("GET VARIABLE SURVEY_ID")
    await peer.command("GET FULL VARIABLE ${CALLERID(num)}")
    await peer.command("WAIT FOR DIGIT 10000")
    await peer.command("SET VARIABLE SURVEY_SCORE 1")
    await peer.command('EXEC UserEvent "SurveyResult,Score: 1,Source: fastagi"')
    await peer.command('VERBOSE "hotline survey: done" 1')


async def test_survey_call_plays_asterisks_fastagi_side() -> None:
    phones = {"customer-phone": CustomerPhone.answers("1", ring=1.0, after=3.0)}
    async with survey_pbx(capture_like_script, phones) as (sim, agi, client):
        survey_id = "SURVEY_ID=case-4711"
        originate(client, "PJSIP/customer-phone", "o1", Variable=survey_id, Timeout="20000")
        queued = (await client.until(lambda m: m.action_id == "o1"))[-1]
        assert queued["Message"] == "Originate successfully queued"
        (call,) = await sim.wait_survey_calls(1)
    peer = agi.sessions[0]
    # As the capture's originate, without SURVEY_TOKEN: ${SURVEY_TOKEN} expands to nothing.
    assert peer.raw_env.endswith(b"agi_arg_1: case-4711\nagi_arg_2: \n\n")
    assert b"\r" not in peer.raw_env
    real_env = [line.split(" << ")[1].split(":")[0] for line in _agi_capture_lines("<<")[:22]]
    assert list(peer.env)[:22] == real_env
    assert peer.env["agi_network_script"] == "survey"
    assert peer.env["agi_uniqueid"] == call.uniqueid
    assert peer.replies == [
        "200 result=0\n",
        "200 result=1\n",
        "200 result=1 (case-4711)\n",
        "200 result=1 (1169)\n",
        "200 result=49\n",
        "200 result=1\n",
        "200 result=0\n",
        "200 result=1\n",
    ]
    assert call.outcome == "answered" and call.pressed == ["1"] and call.agi_status == "SUCCESS"
    cap = captured_events("originate-survey.txt")
    wanted = (
        "OriginateResponse",
        "AGIExecStart",
        "AGIExecEnd",
        "DTMFBegin",
        "DTMFEnd",
        "UserEvent",
    )
    mine = [m for m in generated(sim.events) if m.name in wanted]
    real = [m for m in cap if m.name in wanted]
    assert names(mine) == names(real)
    for a, b in zip(mine, real, strict=True):
        assert keys(a) == keys(b), a.name
    everything = generated(sim.events)
    assert names(everything) == names(cap)
    for a, b in zip(everything, cap, strict=True):
        assert keys(a) == keys(b), a.name
    user = next(m for m in mine if m.name == "UserEvent")
    assert (user["UserEvent"], user["Score"], user["Source"]) == ("SurveyResult", "1", "fastagi")
    response = next(m for m in mine if m.name == "OriginateResponse")
    assert (response["Reason"], response["Uniqueid"]) == ("4", call.uniqueid)


def _agi_capture_lines(direction: str) -> list[str]:
    text = (AMI_TRACES / AGI_SESSION).read_text()
    return [line for line in text.splitlines() if f" {direction} " in line]


async def test_channel_id_becomes_the_uniqueid() -> None:
    phones = {"0812345678": CustomerPhone.answers("4")}

    async def script(peer: AgiPeer) -> None:
        await peer.command("WAIT FOR DIGIT 5000")

    async with survey_pbx(script, phones) as (sim, agi, client):
        originate(client, "PJSIP/0812345678@trunk", "o1", ChannelId="survey-42-attempt-1")
        (call,) = await sim.wait_survey_calls(1)
    assert call.uniqueid == "survey-42-attempt-1"
    assert agi.sessions[0].env["agi_uniqueid"] == "survey-42-attempt-1"
    assert agi.sessions[0].env["agi_channel"].startswith("PJSIP/trunk-")
    hangup = next(m for m in generated(sim.events) if m.name == "Hangup")
    assert hangup["Uniqueid"] == "survey-42-attempt-1"


async def _never_called(peer: AgiPeer) -> None:
    raise AssertionError("no AGI session expected")


@pytest.mark.parametrize(
    ("phone", "reason", "cause"),
    [
        (CustomerPhone.busy(), "0", "17"),
        (CustomerPhone.no_answer(), "3", "19"),
        (CustomerPhone.congested(), "0", "34"),
        (CustomerPhone.unknown(), "0", None),
    ],
)
async def test_failed_originates_look_like_asterisk_22(
    phone: CustomerPhone, reason: str, cause: str | None
) -> None:
    async with survey_pbx(_never_called, {"customer-x": phone}) as (sim, _, client):
        originate(client, "PJSIP/customer-x", "o1")
        seen = await client.until(lambda m: m.name == "OriginateResponse")
        (call,) = await sim.wait_survey_calls(1)
    response = seen[-1]
    real = next(
        m for m in capture_messages("originate-failed.txt") if m.name == "OriginateResponse"
    )
    assert keys(response) == keys(real)
    assert (response["Response"], response["Reason"]) == ("Failure", reason)
    assert (response["Channel"], response["Uniqueid"]) == ("PJSIP/customer-x", "<unknown>")
    hangups = [m for m in generated(sim.events) if m.name == "Hangup"]
    assert [m["Cause"] for m in hangups] == ([cause] if cause else [])
    assert call.outcome in ("busy", "noanswer", "congestion", "failed")


async def test_busy_originate_sequence_matches_capture() -> None:
    async with survey_pbx(_never_called, {"customer-busy": CustomerPhone.busy()}) as (sim, _, c):
        originate(c, "PJSIP/customer-busy", "o1", Timeout="15000")
        await sim.wait_survey_calls(1)
    real = captured_events("originate-failed.txt")
    real = real[: names(real).index("OriginateResponse") + 1]
    mine = generated(sim.events)
    assert names(mine) == names(real)
    for a, b in zip(mine, real, strict=True):
        assert keys(a) == keys(b), a.name
        assert a.get("Cause-txt") == b.get("Cause-txt")


async def test_synchronous_originate_fails_before_the_channel_events() -> None:
    async with survey_pbx(_never_called, {"customer-busy": CustomerPhone.busy()}) as (sim, _, c):
        originate(c, "PJSIP/customer-busy", "sync", Async="false")
        first = await c.until(lambda m: m.action_id == "sync" or m.name == "Newchannel")
        await sim.wait_survey_calls(1)
    assert (first[-1]["Response"], first[-1]["Message"]) == ("Error", "Originate failed")
    assert "OriginateResponse" not in names(generated(sim.events))


async def test_synchronous_originate_answers_once_the_phone_is_up() -> None:
    async def script(peer: AgiPeer) -> None:
        await peer.command("ANSWER")

    phones = {"0812": CustomerPhone.answers("1", ring=2.0)}
    async with survey_pbx(script, phones) as (sim, _, c):
        originate(c, "PJSIP/0812@trunk", "sync", Async="no")
        seen = await c.until(lambda m: m.action_id == "sync")
        await sim.wait_survey_calls(1)
    assert seen[-1]["Response"] == "Success"
    assert "Newstate" in [m.name for m in seen]
    assert "OriginateResponse" not in names(generated(sim.events))


async def test_a_client_leaving_mid_originate_does_not_disturb_others() -> None:
    async def script(peer: AgiPeer) -> None:
        await peer.command("ANSWER")

    phones = {"0812": CustomerPhone.answers("1", ring=2.0)}
    async with survey_pbx(script, phones) as (sim, _, watcher):
        rude = await AmiClient.connect(*sim.address)
        await rude.login()
        originate(rude, "PJSIP/0812@trunk", "gone", Async="false")
        await sim.wait_for_action("Originate")
        await rude.close()
        (call,) = await sim.wait_survey_calls(1)
        seen = await watcher.ask("Ping", "alive")
    assert call.outcome == "answered"
    assert "Hangup" in [m.name for m in seen]


async def test_customer_hangs_up_mid_survey() -> None:
    replies: list[str] = []

    async def script(peer: AgiPeer) -> None:
        await peer.command("ANSWER")
        replies.append(await peer.command("GET DATA survey/question-1 5000 1"))
        replies.append((await asyncio.wait_for(peer.reader.readline(), 5)).decode())
        replies.append(await peer.command('STREAM FILE survey/thanks ""'))

    phones = {"0899": CustomerPhone.hangs_up(after=1.0)}
    async with survey_pbx(script, phones) as (sim, _, client):
        originate(client, "PJSIP/0899@trunk", "o1")
        (call,) = await sim.wait_survey_calls(1)
    assert replies == [
        "200 result=-1\n",
        "HANGUP\n",
        "511 Command Not Permitted on a dead channel or intercepted channel\n",
    ]
    assert call.heard == ["survey/question-1"]
    assert call.agi_status == "HANGUP"


async def test_wrong_key_then_right_key_and_silence() -> None:
    answers: list[str] = []

    async def script(peer: AgiPeer) -> None:
        answers.append(await peer.command("GET DATA survey/score 3000 1"))
        answers.append(await peer.command("GET DATA survey/score-again 3000 1"))
        answers.append(await peer.command("GET DATA survey/anything-else 2000 1"))
        answers.append(await peer.command('SAY DIGITS 12 ""'))
        answers.append(await peer.command("FROB NICATE"))
        answers.append(await peer.command("HANGUP"))

    phone = CustomerPhone.wrong_then_right("9", "4", after=1.0)
    assert phone.keys == (Keypress("9", 1.0), Keypress("4", 1.0))
    async with survey_pbx(script, {"0811": phone}) as (sim, _, client):
        originate(client, "PJSIP/0811@trunk", "o1")
        (call,) = await sim.wait_survey_calls(1)
    assert answers == [
        "200 result=9\n",
        "200 result=4\n",
        "200 result= (timeout)\n",
        "200 result=0\n",
        "510 Invalid or unknown command\n",
        "200 result=1\n",
    ]
    assert call.heard == ["survey/score", "survey/score-again", "survey/anything-else", "digits:12"]
    assert call.pressed == ["9", "4"]
    dtmf = [m["Digit"] for m in generated(sim.events) if m.name == "DTMFEnd"]
    assert dtmf == ["9", "4"]


async def test_agi_server_down_gives_agistatus_failure() -> None:
    async with TinyAgiServer(_never_called) as agi:
        port = agi.port
    sim = PbxSimulator.lab(speed=20.0, agi_port=port, default_customer_phone=CustomerPhone.silent())
    async with sim:
        c = await AmiClient.connect(*sim.address)
        try:
            await c.login()
            originate(c, "PJSIP/0812@trunk", "o1")
            (call,) = await sim.wait_survey_calls(1)
        finally:
            await c.close()
    assert call.agi_status == "FAILURE"
    statuses = [m["Value"] for m in generated(sim.events) if m.get("Variable") == "AGISTATUS"]
    assert statuses == ["FAILURE"]


async def test_in_call_survey_after_the_agent_hangs_up() -> None:
    async def script(peer: AgiPeer) -> None:
        await peer.command('STREAM FILE hotline/incall-intro ""')
        await peer.command("GET DATA hotline/score 4000 1")

    async with TinyAgiServer(script) as agi:
        sim = PbxSimulator.lab(
            speed=20.0,
            agi_port=agi.port,
            incall_survey=True,
            pbx_name="pbx1",
            customer_phones={"0812345678": CustomerPhone.answers("5", after=1.0)},
            prompt_seconds=0.2,
        )
        async with sim:
            call = await sim.place_call("hotline", "0812345678", "Somchai")
            await call.connected.wait()
            await sim.hangup(call, by="agent")
            assert call.state == "after_queue"
            await asyncio.wait_for(call.ended.wait(), 10)
    peer = agi.sessions[0]
    assert peer.env["agi_network_script"] == "survey-incall"
    assert (peer.env["agi_arg_1"], peer.env["agi_arg_2"]) == ("pbx1", "hotline")
    assert peer.env["agi_uniqueid"] == call.uniqueid
    assert peer.replies[-1] == "200 result=5\n"
    (survey,) = sim.survey_calls
    assert survey.heard == ["hotline/incall-intro", "hotline/score"]
    order = [
        m.name
        for m in generated(sim.events)
        if (
            m.name in ("AgentComplete", "AGIExecStart", "Hangup")
            and m.get("Channel") in (call.caller.name, None)
        )
        or m.name == "AgentComplete"
    ]
    assert order[0] == "AgentComplete" and order[-1] == "Hangup"
    assert "AGIExecStart" in order
    assert call.outcome == "answered"
    exit_event = next(m for m in generated(sim.events) if m.get("UserEvent") == "QueueExit")
    assert (exit_event["Queue"], exit_event["Status"]) == ("hotline", "CONTINUE")
    step = next(m for m in generated(sim.events) if m.get("Application") == "AGI")
    assert step["AppData"].endswith("/survey-incall,pbx1,hotline")


async def test_misc_agi_commands_answer_like_asterisk() -> None:
    replies: list[str] = []

    async def script(peer: AgiPeer) -> None:
        for line in (
            "GET VARIABLE NOT_SET",
            "CHANNEL STATUS",
            "EXEC Playback hotline/thanks&hotline/bye",
            'SAY NUMBER 42 ""',
            'VERBOSE "unbalanced',
            "EXEC Hangup",
        ):
            replies.append(await peer.command(line))
        replies.append((await peer.reader.read()).decode())

    async with survey_pbx(script, {"0811": CustomerPhone.silent()}) as (sim, _, client):
        originate(client, "PJSIP/0811@trunk", "o1")
        (call,) = await sim.wait_survey_calls(1)
    assert replies == [
        "200 result=0\n",
        "200 result=6\n",
        "200 result=0\n",
        "200 result=0\n",
        "520 Invalid command syntax.  Proper usage not available.\n",
        "200 result=-1\n",
        "",
    ]
    assert call.heard == ["hotline/thanks", "hotline/bye", "number:42"]


async def test_caller_hanging_up_during_the_in_call_survey() -> None:
    async def script(peer: AgiPeer) -> None:
        peer.replies.append(await peer.command("WAIT FOR DIGIT 20000"))
        peer.replies.append((await asyncio.wait_for(peer.reader.readline(), 5)).decode())

    async with TinyAgiServer(script) as agi:
        sim = PbxSimulator.lab(speed=20.0, agi_port=agi.port, incall_survey=True)
        sim.originate.default_phone = CustomerPhone.silent()
        async with sim:
            call = await sim.place_call("hotline", "0812345678", "Somchai")
            await call.connected.wait()
            await sim.hangup(call, by="agent")
            await sim.wait_for_event("AGIExecStart")
            await sim.hangup(call, by="caller")
            await asyncio.wait_for(call.ended.wait(), 10)
    assert agi.sessions[0].replies[-2:] == ["200 result=-1\n", "HANGUP\n"]
    assert sim.survey_calls[0].agi_status == "HANGUP"

"""The FastAGI server and the survey dialogue, driven by a test phone over real TCP."""

from __future__ import annotations

import ast
import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from ivr.agi import parse_environment, parse_reply
from ivr.config import SurveySettings
from ivr.fastagi import FastAgiServer
from ivr.script import SurveyScript
from tests.fixtures import AGI_SESSION, AMI_TRACES
from tests.ivr.agi_phone import environment, keypad, run_session

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


@dataclass
class MemoryStore:
    known: dict[uuid.UUID, str]
    ratings: dict[uuid.UUID, int] = field(default_factory=dict)
    incomplete: dict[uuid.UUID, str] = field(default_factory=dict)
    opted_out: set[uuid.UUID] = field(default_factory=set)

    async def begin_session(self, survey_id: uuid.UUID, token: str, now: datetime) -> str | None:
        return "th" if self.known.get(survey_id) == token else None

    async def record_rating(self, survey_id: uuid.UUID, rating: int, now: datetime) -> None:
        self.ratings[survey_id] = rating

    async def end_incomplete(self, survey_id: uuid.UUID, reason: str, now: datetime) -> bool:
        if survey_id in self.ratings:
            return False
        self.incomplete[survey_id] = reason
        return True

    async def opt_out(self, survey_id: uuid.UUID, now: datetime) -> None:
        self.opted_out.add(survey_id)


SURVEY = uuid.UUID("6f1c2a52-8d8e-4f57-9c41-0d5c3e0f1a01")
TOKEN = "k2Pq7v0c3s9R1xWb"
SESSION = environment("survey", str(SURVEY), TOKEN)
SETTINGS = SurveySettings(sounds_dir="/snd", agi_header_timeout_s=0.3)


@pytest.fixture
async def store() -> MemoryStore:
    return MemoryStore(known={SURVEY: TOKEN})


@pytest.fixture
async def server(store: MemoryStore) -> AsyncIterator[FastAgiServer]:
    script = SurveyScript(SETTINGS, store, FixedClock())
    srv = FastAgiServer({"survey": script}, "127.0.0.1", 0, header_timeout_s=0.3)
    await srv.start()
    yield srv
    await srv.stop()


def get_data_count(commands: list[str]) -> int:
    return sum(1 for c in commands if c.startswith("GET DATA"))


async def test_pressing_2_stores_satisfied_and_confirms(
    server: FastAgiServer, store: MemoryStore
) -> None:
    commands = await run_session(server.port, SESSION, keypad("2"))
    assert store.ratings == {SURVEY: 2}
    assert commands[0] == "ANSWER"
    assert commands[1] == 'STREAM FILE /snd/th/greeting ""'
    assert commands[2] == "GET DATA /snd/th/question 6000 1"
    assert "SET VARIABLE SURVEY_SCORE 2" in commands
    assert 'STREAM FILE /snd/th/confirm_2 ""' in commands
    assert commands[-1] == "HANGUP"
    assert store.incomplete == {}


async def test_wrong_key_then_right_key(server: FastAgiServer, store: MemoryStore) -> None:
    commands = await run_session(server.port, SESSION, keypad("7", "1"))
    assert store.ratings == {SURVEY: 1}
    assert 'STREAM FILE /snd/th/invalid ""' in commands
    assert get_data_count(commands) == 2


async def test_silence_three_times_is_incomplete(server: FastAgiServer, store: MemoryStore) -> None:
    commands = await run_session(server.port, SESSION, keypad("", "", "", "1"))
    assert get_data_count(commands) == 3
    assert store.ratings == {}
    assert store.incomplete == {SURVEY: "no_valid_input"}
    assert 'STREAM FILE /snd/th/goodbye ""' in commands


async def test_caller_hangs_up_mid_survey(server: FastAgiServer, store: MemoryStore) -> None:
    phone = keypad()

    def hang_up_at_question(command: str) -> str | None:
        return None if command.startswith("GET DATA") else phone(command)

    await run_session(server.port, SESSION, hang_up_at_question)
    await server.wait_idle()
    assert store.incomplete == {SURVEY: "caller_hung_up"}


async def test_hangup_notice_then_511_ends_survey(
    server: FastAgiServer, store: MemoryStore
) -> None:
    phone = keypad()
    sent = []

    def asterisk_hangup(command: str) -> str | None:
        sent.append(command)
        if command.startswith("GET DATA"):
            return "HANGUP\n200 result=-1"
        if len(sent) > 3:
            return "511 Command Not Permitted on a dead channel or intercept routine"
        return phone(command)

    await run_session(server.port, SESSION, asterisk_hangup)
    await server.wait_idle()
    assert store.incomplete == {SURVEY: "caller_hung_up"}
    assert get_data_count(sent) == 1


async def test_opt_out_digit(server: FastAgiServer, store: MemoryStore) -> None:
    await run_session(server.port, SESSION, keypad("9"))
    assert store.opted_out == {SURVEY}
    assert store.ratings == {}


@pytest.mark.parametrize("arg", ["", "not-a-uuid", "' OR 1=1 --", str(uuid.uuid4())])
async def test_unknown_or_hostile_survey_id_just_hangs_up(
    server: FastAgiServer, store: MemoryStore, arg: str
) -> None:
    commands = await run_session(server.port, environment("survey", arg), keypad("1"))
    assert commands == ["HANGUP"]
    assert store.ratings == {}


async def test_unknown_script_is_closed_without_commands(
    server: FastAgiServer, store: MemoryStore
) -> None:
    commands = await run_session(server.port, environment("other", str(SURVEY), TOKEN), keypad("1"))
    assert commands == []


async def test_bare_connect_and_silent_client_do_not_stall_others(
    server: FastAgiServer, store: MemoryStore
) -> None:
    _, bare = await asyncio.open_connection("127.0.0.1", server.port)
    bare.close()
    await bare.wait_closed()
    silent_reader, silent = await asyncio.open_connection("127.0.0.1", server.port)
    silent.write(b"agi_network: yes\n")
    await silent.drain()

    await run_session(server.port, SESSION, keypad("3"))
    assert store.ratings == {SURVEY: 3}
    assert await asyncio.wait_for(silent_reader.read(), 2) == b""
    silent.close()
    await silent.wait_closed()


async def test_garbage_environment_is_survived(server: FastAgiServer, store: MemoryStore) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"\xff\xfe\x00garbage: \xe0\xb8\n:::\n\n")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 2) == b""
    writer.close()
    await writer.wait_closed()
    await run_session(server.port, SESSION, keypad("1"))
    assert store.ratings == {SURVEY: 1}


@pytest.mark.parametrize(
    ("line", "code", "result", "data"),
    [
        ("200 result=1", 200, "1", None),
        ("200 result= (timeout)", 200, "", "timeout"),
        ("200 result=2 (timeout)", 200, "2", "timeout"),
        ("200 result=1 (case-4711)", 200, "1", "case-4711"),
        ("200 result=0 endpos=8000", 200, "0", None),
        ("510 Invalid or unknown command", 510, "", None),
    ],
)
def test_parse_reply(line: str, code: int, result: str, data: str | None) -> None:
    reply = parse_reply(line)
    assert reply is not None
    assert (reply.code, reply.result, reply.data) == (code, result, data)


@pytest.mark.parametrize("line", ["", "HANGUP", "520-Invalid command syntax.", "garbage"])
def test_non_replies_are_not_parsed(line: str) -> None:
    assert parse_reply(line) is None


async def test_pbx_that_stops_answering_leaves_survey_incomplete(store: MemoryStore) -> None:
    settings = SurveySettings(sounds_dir="/snd")
    script = SurveyScript(settings, store, FixedClock())
    srv = FastAgiServer({"survey": script}, "127.0.0.1", 0, command_timeout_s=0.2)
    await srv.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    try:
        writer.write(SESSION)
        await writer.drain()
        assert await reader.readline() == b"ANSWER\n"
        await srv.wait_idle()
        assert store.incomplete == {SURVEY: "pbx_silent"}
    finally:
        writer.close()
        await writer.wait_closed()
        await srv.stop()


def test_environment_of_the_real_asterisk_session() -> None:
    """The environment block Asterisk 22 sent in agi-survey-session.txt, byte for byte."""
    trace = AMI_TRACES / AGI_SESSION
    received = []
    for line in trace.read_text(encoding="utf-8").splitlines():
        if " << " in line:
            text = line.split(" << ", 1)[1]
            received.append(ast.literal_eval(f"'{text}'"))
    block = "".join(received[: received.index("\n") + 1]).encode()
    env = parse_environment(block)
    assert env.script == "survey"
    assert env.uniqueid == "1795236782.27"
    assert env.values["callerid"] == "1169"
    assert env.values["accountcode"] == ""
    assert env.args == ()
    replies = [parse_reply(r) for r in received[received.index("\n") + 1 :]]
    assert [(r.code, r.result, r.data) for r in replies if r is not None] == [
        (200, "0", None),
        (200, "1", None),
        (200, "1", "case-4711"),
        (200, "1", "1169"),
        (200, "49", None),
        (200, "1", None),
        (200, "0", None),
        (200, "1", None),
    ]

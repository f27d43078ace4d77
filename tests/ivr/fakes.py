"""Test doubles for the survey flow: phones behind a CallControl, and database seeds."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from calls.endings import endings_of
from calls.record import CallRecord
from calls.repository import CallRepository
from ivr.component import SurveyService
from telephony.commands import OriginateResult
from telephony.errors import CommandTimeout, PbxUnavailable
from telephony.events import make_call_key
from tests.ivr.agi_phone import Answer, environment, keypad, run_session

_FAILURES = {
    "no_answer": ("no_answer", "3", "19"),
    "busy": ("busy", "0", "17"),
    "congestion": ("congestion", "0", "34"),
    "failure": ("failure", "0", None),
}


@dataclass(frozen=True)
class Picks:
    """A phone that answers and then plays `answer` against the FastAGI server."""

    answer: Answer


def presses(*digits: str) -> Picks:
    return Picks(keypad(*digits))


Behaviour = str | Picks


@dataclass
class Phones:
    """A CallControl whose phones behave per dialled number, one behaviour per call.

    An answered call runs a FastAGI session against the survey's server, as Asterisk would
    after `Answer()` in the `survey` context.
    """

    agi_port: int
    behaviours: dict[str, list[Behaviour]]
    dialled: list[tuple[str, str]] = field(default_factory=list)
    sessions: list[asyncio.Task[list[str]]] = field(default_factory=list)
    pbx_down: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)
    live_channels: set[str] = field(default_factory=set)

    async def originate(
        self,
        pbx: str,
        channel: str,
        context: str,
        exten: str,
        priority: int = 1,
        *,
        channel_id: str,
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        timeout_ms: int = 30_000,
    ) -> OriginateResult:
        if self.pbx_down:
            raise PbxUnavailable(pbx, "link down")
        number = channel.split("/", 1)[1].split("@", 1)[0]
        survey_id, token = (variables or {})["SURVEY_ID"], (variables or {})["SURVEY_TOKEN"]
        self.dialled.append((number, survey_id))
        assert context == "survey"
        assert channel_id == survey_id
        behaviour = self.behaviours[number].pop(0)
        if isinstance(behaviour, Picks):
            env = environment("survey", survey_id, token, uniqueid=channel_id)
            self.sessions.append(
                asyncio.create_task(run_session(self.agi_port, env, behaviour.answer))
            )
            await asyncio.sleep(0)
            return OriginateResult("answered", "4", channel_id)
        if behaviour == "rings_until_released":
            await self.release.wait()
            behaviour = "no_answer"
        if behaviour == "answer_lost":
            self.live_channels.add(channel_id)
            raise CommandTimeout(pbx, "Originate", 10.0)
        outcome, reason, cause = _FAILURES[behaviour]
        return OriginateResult(outcome, reason, channel_id, cause)  # type: ignore[arg-type]

    async def settle(self) -> None:
        """Wait for every FastAGI session started so far."""
        await asyncio.gather(*self.sessions)

    async def pause(self, pbx: str, queue: str | None, interface: str, reason: str = "") -> None:
        return None

    async def unpause(self, pbx: str, queue: str | None, interface: str) -> None:
        return None

    async def add_member(
        self,
        pbx: str,
        queue: str,
        interface: str,
        member_name: str,
        penalty: int = 0,
        *,
        paused_reason: str | None = None,
    ) -> None:
        return None

    async def remove_member(self, pbx: str, queue: str, interface: str) -> None:
        return None

    async def hangup(self, pbx: str, channel_or_call: str) -> None:
        return None

    async def channel_exists(self, pbx: str, channel_id: str) -> bool:
        if self.pbx_down:
            raise PbxUnavailable(pbx, "link down")
        return channel_id in self.live_channels


async def seed_agent(pool: Any, username: str = "agent101") -> int:
    user_id: int = await pool.fetchval(
        "INSERT INTO users (username, display_name, password_hash, role, pbx, interface)"
        " VALUES ($1, $2, 'x', 'agent', 'pbx1', $3) RETURNING id",
        username,
        username.title(),
        f"PJSIP/{username}",
    )
    return user_id


async def seed_call(
    pool: Any, uniqueid: str, number: str, agent_user_id: int | None, ended: datetime
) -> tuple[int, str]:
    key = make_call_key("pbx1", "hotline", uniqueid)
    call_id: int = await pool.fetchval(
        "INSERT INTO calls (call_key, pbx, queue, uniqueid, caller_number, agent_user_id,"
        " agent_interface, answered_at, ended_at, talk_s)"
        " VALUES ($1, 'pbx1', 'hotline', $2, $3, $4, 'PJSIP/agent101', $5, $5, 60)"
        " RETURNING id",
        key,
        uniqueid,
        number,
        agent_user_id,
        ended,
    )
    return call_id, key


async def seed_case(pool: Any, call_id: int, case_type: str, received: datetime) -> int:
    case_id: int = await pool.fetchval(
        "INSERT INTO cases (reference, call_id, channel, case_type, topic, received_at)"
        " VALUES ($1, $2, 'phone', $3, 'water', $4) RETURNING id",
        f"T-{call_id}",
        call_id,
        case_type,
        received,
    )
    return case_id


async def end_call(
    pool: Any,
    service: SurveyService,
    uniqueid: str,
    number: str,
    at: datetime,
    interface: str = "PJSIP/agent101",
) -> None:
    """An answered queue call from `number` ends at `at`, stored as the call writer stores it
    (the record and its outbox row in one transaction); then the survey's pass takes it."""
    record = CallRecord(
        call_key=make_call_key("pbx1", "hotline", uniqueid),
        pbx="pbx1",
        queue="hotline",
        uniqueid=uniqueid,
        caller_number=number,
        answered_at=at - timedelta(seconds=60),
        ended_at=at,
        agent_interface=interface,
        agent_name="Agent 101",
        talk_s=60.0,
        wait_s=5.0,
        hung_up_by="caller",
        end_reason="completed",
    )
    await CallRepository(pool).save_calls([record], endings_of([record]))
    await service.schedule_ended_calls()

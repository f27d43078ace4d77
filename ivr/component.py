"""The survey as one service with a lifetime: FastAGI server, dialer loop, event subscriber.

Wiring (hotline/lifetimes.py): build `SurveyService(settings, db.pool, call_control, clock,
cases=...)` with the configured case repository (its SLA policy decides when a resolved
complaint's follow-up is due, its calendar when calling is allowed), give the call writer
`calls.endings.endings_of` as follow-ups in callback mode (each pass takes the ended calls
from that outbox), `await start()` after the AMI links, and `await stop()` on shutdown.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from cases.repository import CaseRepository
from cases.working_days import DEFAULT_CALENDAR, WorkingCalendar
from ivr.config import SurveySettings
from ivr.dialer import Dialer
from ivr.endings import EndedCallSurveys
from ivr.fastagi import FastAgiServer, Handler
from ivr.incall import InCallScript
from ivr.peers import LOOPBACK
from ivr.policy import holidays_from
from ivr.queue import SurveyQueue
from ivr.scheduler import SurveyScheduler
from ivr.script import SurveyScript
from runtime.clock import Clock
from runtime.jobs import cancel_and_wait, run_every
from runtime.tasks import Spawn, start_task
from telephony.commands import CallControl

log = structlog.get_logger()

FOLLOWUP_LOOKBACK = timedelta(days=14)


class SurveyService:
    """Everything the satisfaction survey runs, started and stopped as one."""

    def __init__(
        self,
        settings: SurveySettings,
        pool: Any,
        control: CallControl,
        clock: Clock,
        *,
        cases: CaseRepository,
        calendar: WorkingCalendar = DEFAULT_CALENDAR,
        draw: Callable[[], float] = random.random,
        spawn: Spawn = start_task,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._spawn = spawn
        is_holiday = holidays_from(calendar.is_working_day)
        self.queue = SurveyQueue(
            pool, dial_lease=settings.dial_lease, session_lease=settings.session_lease
        )
        self.scheduler = SurveyScheduler(
            settings, self.queue, calendar.add_working_days, is_holiday, draw
        )
        self.dialer = Dialer(settings, self.queue, control, clock, is_holiday)
        self.ended_calls = EndedCallSurveys(pool, self.scheduler)
        self._cases = cases
        routes: dict[str, Handler] = {"survey": SurveyScript(settings, self.queue, clock)}
        # The in-call script makes its own survey row, so it exists only when configured.
        if settings.mode == "in_call":
            routes["survey-incall"] = InCallScript(settings, self.queue, self.scheduler, clock)
        self.fastagi = FastAgiServer(
            routes,
            settings.agi_host,
            settings.agi_port,
            header_timeout_s=settings.agi_header_timeout_s,
            command_timeout_s=settings.agi_command_timeout_s,
            allowed_peers=settings.agi_allowed_peers or LOOPBACK,
        )
        self._loop: asyncio.Task[None] | None = None
        self._last_error = ""

    async def start(self) -> None:
        """Listen for FastAGI sessions and start the dialer loop.

        The loop runs in in-call mode too: it reaps lost sessions and dials the follow-up
        surveys of resolved complaints, which are always callbacks.
        """
        await self.fastagi.start()
        if self.settings.enabled:
            self._loop = self._spawn("survey-dialer", self._run)

    async def stop(self) -> None:
        """Stop the loop, even mid-pass: the leases of what it claimed make a redo safe."""
        if self._loop is not None:
            await cancel_and_wait([self._loop])
            self._loop = None
        await self.dialer.close()
        await self.fastagi.stop()

    def health(self) -> tuple[bool, str]:
        """For /healthz: up while the FastAGI server listens and the last pass succeeded."""
        if not self.fastagi.listening:
            return False, "FastAGI server not listening"
        if not self.settings.enabled:
            return True, "survey disabled"
        return self._last_error == "", self._last_error or "ok"

    async def tick(self) -> list[asyncio.Task[None]]:
        """One pass: surveys for ended calls, follow-ups for resolved complaints, the dialer."""
        await self.schedule_ended_calls()
        await self.schedule_followups()
        return await self.dialer.tick()

    async def schedule_ended_calls(self) -> int:
        """In callback mode, the survey row of every call that ended since the last pass."""
        if not self.settings.enabled or self.settings.mode != "callback":
            return 0
        return await self.ended_calls.take(self._clock.now())

    async def schedule_followups(self) -> int:
        """Schedule the survey owed to each recently resolved complaint (PWA step 5)."""
        if not self.settings.survey_complaints or not self.settings.followup_pbx:
            return 0
        now = self._clock.now()
        candidates = await self._cases.complaints_resolved_awaiting_survey(now - FOLLOWUP_LOOKBACK)
        for candidate in candidates:
            await self.scheduler.on_case_resolved(candidate, self.settings.followup_pbx, now)
        return len(candidates)

    async def _run(self) -> None:
        await run_every(
            self._pass, self._clock, self.settings.poll_interval_s, failed="survey_tick_failed"
        )

    async def _pass(self, _now: datetime) -> None:
        try:
            await self.tick()
        except Exception as exc:
            self._last_error = f"survey pass failed: {type(exc).__name__}"
            raise
        self._last_error = ""

"""The survey dialer: claims due surveys and originates them through CallControl."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog

from ivr.config import SurveySettings
from ivr.policy import IsHoliday, in_calling_window, retry_time
from ivr.queue import Claim, InDoubt, SurveyQueue
from runtime.clock import Clock
from runtime.jobs import cancel_and_wait
from telephony.commands import CallControl
from telephony.errors import CommandTimeout, PbxUnavailable, TelephonyError

log = structlog.get_logger()

PBX_DOWN_RETRY = timedelta(minutes=1)


class Dialer:
    """One loop per instance; several instances may run against one database."""

    def __init__(
        self,
        settings: SurveySettings,
        queue: SurveyQueue,
        control: CallControl,
        clock: Clock,
        is_holiday: IsHoliday,
    ) -> None:
        self._settings = settings
        self._queue = queue
        self._control = control
        self._clock = clock
        self._is_holiday = is_holiday
        self._calls: set[asyncio.Task[None]] = set()

    def _retry_at(self, attempts_done: int, outcome: str, at: datetime) -> datetime | None:
        return retry_time(self._settings, attempts_done, outcome, at, self._is_holiday)

    async def tick(self) -> list[asyncio.Task[None]]:
        """Sweep the queue, then start a call for every survey that may be dialled now."""
        now = self._clock.now()
        for doubt in await self._queue.sweep(now):
            await self._queue.settle(doubt, await self._channel_exists(doubt), now)
        if not in_calling_window(self._settings, now, self._is_holiday):
            return []
        claims = await self._queue.claim(now, self._settings.max_channels)
        started = []
        for claim in claims:
            task = asyncio.create_task(self._call(claim), name=f"survey-call-{claim.survey_id}")
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)
            started.append(task)
        return started

    async def _channel_exists(self, doubt: InDoubt) -> bool | None:
        """Ask the PBX about a dialled attempt left in doubt; None when it cannot answer."""
        try:
            return await self._control.channel_exists(doubt.pbx, doubt.channel_id)
        except TelephonyError as exc:
            log.warning("survey_doubt_unresolved", survey_id=str(doubt.survey_id), error=exc.code)
            return None

    async def close(self) -> None:
        """Cancel calls still waiting for their result; their leases make them safe to redo."""
        await cancel_and_wait(self._calls)

    async def _call(self, claim: Claim) -> None:
        """One attempt; a failure to record it is logged, and the lease takes the survey back."""
        try:
            await self._attempt(claim)
        except Exception:
            log.exception("survey_call_failed", survey_id=str(claim.survey_id))

    async def _attempt(self, claim: Claim) -> None:
        settings = self._settings
        bound = log.bind(survey_id=str(claim.survey_id), attempt=claim.attempts, pbx=claim.pbx)
        bound.info("survey_dialing")
        channel_id = str(claim.survey_id)
        await self._queue.mark_dialled(claim, channel_id, self._clock.now())
        reason_code: int | None = None
        hangup_cause: int | None = None
        try:
            result = await self._control.originate(
                claim.pbx,
                settings.dial_string(claim.caller_number),
                settings.context,
                settings.exten,
                settings.priority,
                channel_id=channel_id,
                caller_id=settings.caller_id,
                variables={"SURVEY_ID": str(claim.survey_id), "SURVEY_TOKEN": claim.token},
                timeout_ms=settings.ring_timeout_ms,
            )
            outcome: str = result.outcome
            reason_code = _as_int(result.reason)
            hangup_cause = _as_int(result.hangup_cause)
        except PbxUnavailable as exc:
            bound.warning("survey_pbx_unavailable", why=exc.why)
            now = self._clock.now()
            await self._queue.release(claim, now, now + PBX_DOWN_RETRY)
            return
        except CommandTimeout:
            # The call may be ringing: leave it to its lease, then to the PBX (sweep).
            bound.warning("survey_originate_unanswered")
            return
        except TelephonyError as exc:
            bound.warning("survey_originate_error", error=exc.code)
            outcome = "failure"
        now = self._clock.now()
        retry_at = None if outcome == "answered" else self._retry_at(claim.attempts, outcome, now)
        recorded = await self._queue.finish_attempt(
            claim,
            outcome,
            now,
            retry_at=retry_at,
            reason_code=reason_code,
            hangup_cause=hangup_cause,
        )
        bound.info(
            "survey_attempt_ended",
            outcome=outcome,
            recorded=recorded,
            retry_at=retry_at.isoformat() if retry_at else None,
        )


def _as_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None

"""Turns ended calls and resolved complaints into scheduled surveys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from calls.numbers import is_surveyable, normalise
from cases.models import SurveyCandidate
from ivr.config import SurveySettings
from ivr.policy import IsHoliday, Selection, choose_selection, next_calling_time
from ivr.queue import NewSurvey, Scheduled, SurveyQueue

log = structlog.get_logger()

AddWorkingDays = Callable[[date, int], date]


@dataclass(frozen=True, slots=True)
class EndedCall:
    """An answered queue call that is over, as stored: what its survey is planned from."""

    call_key: str
    pbx: str
    queue: str
    caller_number: str | None
    agent_interface: str | None
    ended_at: datetime


class SurveyScheduler:
    """Applies the selection and number rules; the queue applies opt-outs and the gap rule."""

    def __init__(
        self,
        settings: SurveySettings,
        queue: SurveyQueue,
        add_working_days: AddWorkingDays,
        is_holiday: IsHoliday,
        draw: Callable[[], float],
    ) -> None:
        self._settings = settings
        self._queue = queue
        self._add_working_days = add_working_days
        self._is_holiday = is_holiday
        self._draw = draw

    def expires_at(self, start: datetime) -> datetime:
        """End of the calling hours on the n-th working day after `start`."""
        settings = self._settings
        local = start.astimezone(_zone(settings))
        day = self._add_working_days(local.date(), settings.expiry_working_days)
        return datetime.combine(day, settings.window_end, _zone(settings)).astimezone(start.tzinfo)

    def plan_call(self, call: EndedCall) -> NewSurvey:
        """The survey row for an answered call: pending, or skipped with the reason."""
        settings = self._settings
        selection = choose_selection(settings, self._draw())
        number, callable_number = _number(call.caller_number)
        reason = None
        if selection is None:
            reason = "not_selected"
        elif not callable_number:
            reason = "number_not_callable"
        return self._plan(
            number=number,
            pbx=call.pbx,
            selection=selection or "answered",
            start=call.ended_at,
            reason=reason,
            call_key=call.call_key,
            agent_interface=call.agent_interface,
            queue=call.queue,
        )

    @property
    def min_gap(self) -> timedelta:
        """At most one survey per number within this period."""
        return _days(self._settings.min_days_between_surveys)

    def plan_in_call(
        self, call_key: str, pbx: str, queue: str, caller_number: str, now: datetime
    ) -> NewSurvey:
        """The survey row for a caller the dialplan handed over: running now, or skipped.

        The complaint rule cannot apply yet (the case is filed after the call), so in-call
        mode surveys every answered call or the random sample.
        """
        selection = choose_selection(self._settings, self._draw())
        plan = self._plan(
            number=_number(caller_number)[0],
            pbx=pbx,
            selection="in_call",
            start=now,
            reason=None if selection in ("answered", "sample") else "not_selected",
            call_key=call_key,
            queue=queue,
        )
        if plan.status == "skipped":
            return plan
        return replace(plan, status="in_progress", not_before=now)

    async def on_call_ended(self, call: EndedCall, now: datetime, conn: Any) -> Scheduled:
        """Schedule the call's survey in `conn`'s transaction (the one taking its end)."""
        plan = self.plan_call(call)
        return await self._schedule(plan, now, self.min_gap, conn, call_key=call.call_key)

    async def on_case_resolved(
        self, candidate: SurveyCandidate, pbx: str, now: datetime
    ) -> Scheduled:
        """The follow-up survey owed to a complainant once the case is resolved."""
        number, callable_number = _number(candidate.caller_number)
        plan = self._plan(
            number=number,
            pbx=pbx,
            selection="case_followup",
            start=candidate.resolved_at,
            reason=None if callable_number else "number_not_callable",
            call_id=candidate.call_id,
            case_id=candidate.case_id,
            agent_user_id=candidate.agent_user_id,
        )
        return await self._schedule(plan, now, _days(0), None, case_id=candidate.case_id)

    async def _schedule(
        self, plan: NewSurvey, now: datetime, min_gap: timedelta, conn: Any, **origin: object
    ) -> Scheduled:
        """Queue a planned survey; the log line names what it came from and how it went."""
        result = await self._queue.schedule(plan, now, min_gap=min_gap, conn=conn)
        log.info(
            "survey_scheduled",
            **origin,
            survey_id=str(result.survey_id),
            status=result.status,
            reason=result.reason,
        )
        return result

    def _plan(
        self,
        *,
        number: str,
        pbx: str,
        selection: Selection,
        start: datetime,
        reason: str | None,
        call_key: str | None = None,
        call_id: int | None = None,
        case_id: int | None = None,
        agent_user_id: int | None = None,
        agent_interface: str | None = None,
        queue: str | None = None,
    ) -> NewSurvey:
        settings = self._settings
        earliest = start + settings.delay_after_hangup
        return NewSurvey(
            caller_number=number,
            pbx=pbx,
            selection=selection,
            language=settings.language,
            not_before=next_calling_time(settings, earliest, self._is_holiday),
            expires_at=self.expires_at(start),
            call_key=call_key,
            call_id=call_id,
            case_id=case_id,
            agent_user_id=agent_user_id,
            agent_interface=agent_interface,
            queue=queue,
            status="pending" if reason is None else "skipped",
            reason=reason,
        )


def _zone(settings: SurveySettings) -> ZoneInfo:
    return ZoneInfo(settings.timezone)


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _number(raw: str | None) -> tuple[str, bool]:
    """The number as stored (normalised, else the raw text cut short) and if it may be called."""
    number = normalise(raw)
    if number is None:
        return (raw or "")[:32], False
    return number, is_surveyable(number)

"""Service-level agreements per case type, in working days (TPQI QP-PR-02).

Defaults live here; the composition root may pass overrides from settings. Types answered at
intake have no due time: they are closed during the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from cases.lifecycle import CLOSED_AT_INTAKE, CaseType
from cases.working_days import DEFAULT_CALENDAR, WorkingCalendar

DEFAULT_SLA_DAYS: Mapping[CaseType, int] = {
    CaseType.INFORMATION_KB: 1,
    CaseType.INFORMATION_UNIT: 2,
    CaseType.COMPLAINT: 3,
}
#: The satisfaction follow-up after a complaint is resolved (TPQI step 4).
DEFAULT_SURVEY_DAYS = 3


@dataclass(frozen=True)
class SlaPolicy:
    days: Mapping[CaseType, int] = field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))
    survey_days: int = DEFAULT_SURVEY_DAYS
    calendar: WorkingCalendar = DEFAULT_CALENDAR

    def working_days_for(self, case_type: CaseType) -> int | None:
        if case_type in CLOSED_AT_INTAKE:
            return None
        return self.days.get(case_type, DEFAULT_SLA_DAYS[case_type])

    def due_at(self, case_type: CaseType, received_at: datetime) -> datetime | None:
        days = self.working_days_for(case_type)
        if days is None:
            return None
        return self.calendar.due_at(received_at, days)

    def due_and_start(
        self, case_type: CaseType, received_at: datetime
    ) -> tuple[datetime | None, datetime | None]:
        """A case's due time and its SLA clock's start, kept together when either changes;
        neither for a type closed at intake."""
        due = self.due_at(case_type, received_at)
        return due, None if due is None else self.calendar.sla_start(received_at)

    def survey_due_at(self, resolved_at: datetime) -> datetime:
        return self.calendar.due_at(resolved_at, self.survey_days)

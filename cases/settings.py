"""The case system's settings with their defaults: SLA days per type, office hours, the
agency's fixed closed days, the escalation chain, retention, and how often the jobs run.

A pydantic model so the composition root can nest it in the service settings
(`cases: CaseSettings`), read from TOML or HOTLINE_CASES__* variables.
"""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from cases.escalation import DEFAULT_CHAIN, EscalationLevel
from cases.lifecycle import CLOSED_AT_INTAKE, CaseType
from cases.retention import DEFAULT_RETENTION_YEARS
from cases.sla import DEFAULT_SLA_DAYS, DEFAULT_SURVEY_DAYS, SlaPolicy
from cases.working_days import DEFAULT_CATEGORIES, WorkingCalendar


class EscalationStep(BaseModel):
    name: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")
    grace_working_days: int = Field(ge=0, le=60)


class CaseSettings(BaseModel):
    sla_days: dict[CaseType, int] = Field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))
    survey_days: int = Field(default=DEFAULT_SURVEY_DAYS, ge=1, le=30)
    office_opens: time = time(8, 30)
    office_closes: time = time(16, 30)
    holiday_categories: tuple[str, ...] = DEFAULT_CATEGORIES
    closed_days: list[date] = Field(default_factory=list)
    escalation_chain: list[EscalationStep] = Field(
        default_factory=lambda: [
            EscalationStep(name=s.name, grace_working_days=s.grace_working_days)
            for s in DEFAULT_CHAIN
        ],
        min_length=1,
    )
    escalation_interval_s: float = Field(default=300, gt=0)
    retention_years: int = Field(default=DEFAULT_RETENTION_YEARS, ge=1, le=50)
    retention_interval_s: float = Field(default=24 * 3600, gt=0)

    @field_validator("sla_days")
    @classmethod
    def _only_types_with_a_deadline(cls, value: dict[CaseType, int]) -> dict[CaseType, int]:
        for case_type, days in value.items():
            if case_type in CLOSED_AT_INTAKE:
                raise ValueError(f"{case_type} is answered at intake and has no SLA")
            if not 0 < days <= 60:
                raise ValueError(f"SLA for {case_type} must be 1 to 60 working days")
        return value

    @field_validator("office_closes")
    @classmethod
    def _closes_after_opening(cls, value: time, info: ValidationInfo) -> time:
        opens = info.data.get("office_opens")
        if opens is not None and value <= opens:
            raise ValueError("the office must close after it opens")
        return value

    def calendar(self, tz: ZoneInfo) -> WorkingCalendar:
        """The agency's working days and office hours, in its time zone."""
        return WorkingCalendar(
            closed_days=frozenset(self.closed_days),
            categories=tuple(self.holiday_categories),
            opens=self.office_opens,
            closes=self.office_closes,
            tz=tz,
        )

    def policy(self, tz: ZoneInfo) -> SlaPolicy:
        return SlaPolicy(
            days={**DEFAULT_SLA_DAYS, **self.sla_days},
            survey_days=self.survey_days,
            calendar=self.calendar(tz),
        )

    def chain(self) -> tuple[EscalationLevel, ...]:
        return tuple(EscalationLevel(s.name, s.grace_working_days) for s in self.escalation_chain)

"""The records the case repository hands out: plain frozen dataclasses, no database types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cases.lifecycle import CaseType, Channel, Role, Status


@dataclass(frozen=True)
class Actor:
    """Who acts on a case: a signed-in user, or the system (user_id None) for jobs."""

    user_id: int | None
    role: Role
    unit_id: int | None = None


@dataclass(frozen=True)
class Case:
    id: int
    reference: str
    status: Status
    case_type: CaseType
    channel: Channel
    topic: str
    details: str
    significant: bool
    call_id: int | None
    caller_id: int | None
    unit_id: int | None
    unit_name: str | None
    received_at: datetime
    sla_started_at: datetime | None
    due_at: datetime | None
    forwarded_at: datetime | None
    resolved_at: datetime | None
    notified_at: datetime | None
    closed_at: datetime | None
    decision: str | None
    decision_reasons: str | None
    findings: str | None
    escalation_level: int
    created_by: int | None
    assigned_to: int | None
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    occupation: str | None
    gender: str | None
    age_band: str | None
    province: str | None
    notify_by: str | None

    def is_overdue(self, now: datetime) -> bool:
        """Past due and not yet resolved: what escalation and the register flag."""
        return self.due_at is not None and self.resolved_at is None and now > self.due_at

    @classmethod
    def from_row(cls, row: Any) -> Case:
        return cls(
            id=row["id"],
            reference=row["reference"],
            status=Status(row["status"]),
            case_type=CaseType(row["case_type"]),
            channel=Channel(row["channel"]),
            topic=row["topic"],
            details=row["details"],
            significant=row["significant"],
            call_id=row["call_id"],
            caller_id=row["caller_id"],
            unit_id=row["unit_id"],
            unit_name=row["unit_name"],
            received_at=row["received_at"],
            sla_started_at=row["sla_started_at"],
            due_at=row["due_at"],
            forwarded_at=row["forwarded_at"],
            resolved_at=row["resolved_at"],
            notified_at=row["notified_at"],
            closed_at=row["closed_at"],
            decision=row["decision"],
            decision_reasons=row["decision_reasons"],
            findings=row["findings"],
            escalation_level=row["escalation_level"],
            created_by=row["created_by"],
            assigned_to=row["assigned_to"],
            contact_name=row["contact_name"],
            contact_phone=row["contact_phone"],
            contact_email=row["contact_email"],
            occupation=row["occupation"],
            gender=row["gender"],
            age_band=row["age_band"],
            province=row["province"],
            notify_by=row["notify_by"],
        )


@dataclass(frozen=True)
class CaseEvent:
    at: datetime
    action: str
    from_status: str | None
    to_status: str | None
    note: str
    data: dict[str, Any]
    actor_id: int | None
    actor_name: str | None


@dataclass(frozen=True)
class CaseSummary:
    """One line of a caller's history in the screen-pop."""

    id: int
    reference: str
    case_type: CaseType
    status: Status
    topic: str
    received_at: datetime
    due_at: datetime | None
    overdue: bool


@dataclass(frozen=True)
class Unit:
    id: int
    name: str
    parent_id: int | None


@dataclass(frozen=True)
class Escalation:
    case_id: int
    reference: str
    level: int
    level_name: str
    reason: str
    escalated_at: datetime
    unit_id: int | None


@dataclass(frozen=True)
class SurveyCandidate:
    """A resolved complaint whose caller is owed a satisfaction call (PWA step 5)."""

    case_id: int
    reference: str
    call_id: int | None
    caller_number: str | None
    agent_user_id: int | None
    resolved_at: datetime
    survey_due_at: datetime

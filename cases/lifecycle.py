"""The case lifecycle (ISO 10002): statuses, the actions that move between them, and who may
take each action. One table decides every transition, so pages, the repository and the
escalation job cannot disagree about what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cases.errors import AccessDenied, InvalidCaseData, TransitionNotAllowed


class Status(StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    ASSESSED = "assessed"
    FORWARDED = "forwarded"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    NOTIFIED = "notified"
    CLOSED = "closed"


class Action(StrEnum):
    ANSWER_AT_INTAKE = "answer_at_intake"
    ACKNOWLEDGE = "acknowledge"
    ASSESS = "assess"
    FORWARD = "forward"
    START = "start"
    RETURN = "return"
    RESOLVE = "resolve"
    NOTIFY = "notify"
    CLOSE = "close"
    REOPEN = "reopen"


class CaseType(StrEnum):
    INQUIRY = "inquiry"
    INCIDENT_REPORT = "incident_report"
    SUGGESTION = "suggestion"
    COMPLIMENT = "compliment"
    INFORMATION_KB = "information_kb"
    INFORMATION_UNIT = "information_unit"
    COMPLAINT = "complaint"


class Channel(StrEnum):
    PHONE = "phone"
    ONLINE = "online"
    LETTER = "letter"
    EMAIL = "email"
    WALK_IN = "walk_in"
    LIVE_CHAT = "live_chat"


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    UNIT = "unit"


#: General inquiries the agent answers and closes during the call (PWA step 1).
CLOSED_AT_INTAKE = frozenset(
    {CaseType.INQUIRY, CaseType.INCIDENT_REPORT, CaseType.SUGGESTION, CaseType.COMPLIMENT}
)
OPEN_STATUSES = frozenset(Status) - {Status.RESOLVED, Status.NOTIFIED, Status.CLOSED}
CENTRE_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
UNIT_ROLES = frozenset({Role.UNIT, Role.SUPERVISOR, Role.ADMIN})


@dataclass(frozen=True)
class Transition:
    sources: frozenset[Status]
    target: Status
    roles: frozenset[Role]
    needs_note: bool = False
    needs_decision: bool = False
    needs_unit: bool = False


TRANSITIONS: dict[Action, Transition] = {
    Action.ANSWER_AT_INTAKE: Transition(frozenset({Status.RECEIVED}), Status.CLOSED, CENTRE_ROLES),
    Action.ACKNOWLEDGE: Transition(frozenset({Status.RECEIVED}), Status.ACKNOWLEDGED, CENTRE_ROLES),
    Action.ASSESS: Transition(frozenset({Status.ACKNOWLEDGED}), Status.ASSESSED, CENTRE_ROLES),
    Action.FORWARD: Transition(
        frozenset({Status.ASSESSED, Status.IN_PROGRESS}),
        Status.FORWARDED,
        CENTRE_ROLES,
        needs_unit=True,
    ),
    Action.START: Transition(
        frozenset({Status.ASSESSED, Status.FORWARDED}),
        Status.IN_PROGRESS,
        CENTRE_ROLES | UNIT_ROLES,
    ),
    Action.RETURN: Transition(
        frozenset({Status.FORWARDED, Status.IN_PROGRESS}),
        Status.ASSESSED,
        UNIT_ROLES,
        needs_note=True,
    ),
    Action.RESOLVE: Transition(
        frozenset({Status.ASSESSED, Status.FORWARDED, Status.IN_PROGRESS}),
        Status.RESOLVED,
        CENTRE_ROLES | UNIT_ROLES,
        needs_decision=True,
    ),
    Action.NOTIFY: Transition(frozenset({Status.RESOLVED}), Status.NOTIFIED, CENTRE_ROLES),
    Action.CLOSE: Transition(frozenset({Status.NOTIFIED}), Status.CLOSED, CENTRE_ROLES),
    Action.REOPEN: Transition(
        frozenset({Status.RESOLVED, Status.NOTIFIED, Status.CLOSED}),
        Status.IN_PROGRESS,
        frozenset({Role.SUPERVISOR, Role.ADMIN, Role.AGENT}),
        needs_note=True,
    ),
}


@dataclass(frozen=True)
class Move:
    """What a user asks of a case: the action and the reasons the audit trail keeps."""

    action: Action
    note: str = ""
    decision: str = ""
    decision_reasons: str = ""
    unit_id: int | None = None
    root_cause: str = ""


#: Case types whose resolution names a root cause (PWA step 9 analyses complaints).
NEEDS_ROOT_CAUSE = frozenset({CaseType.COMPLAINT})


def check_move(status: Status, role: Role, move: Move, case_type: CaseType | None = None) -> Status:
    """The status the move leads to, or a domain error saying why it may not happen. A
    complaint is resolved only with its root cause."""
    rule = TRANSITIONS[move.action]
    if role not in rule.roles:
        raise AccessDenied(
            f"role {role} may not {move.action} a case", action=move.action, role=role
        )
    if status not in rule.sources:
        raise TransitionNotAllowed(
            f"cannot {move.action} a case that is {status}",
            action=move.action,
            status=status,
            allowed_from=sorted(rule.sources),
        )
    errors: dict[str, str] = {}
    if rule.needs_note and not move.note.strip():
        errors["note"] = "required"
    if rule.needs_decision:
        if not move.decision.strip():
            errors["decision"] = "required"
        if not move.decision_reasons.strip():
            errors["decision_reasons"] = "required"
        if case_type in NEEDS_ROOT_CAUSE and not move.root_cause.strip():
            errors["root_cause"] = "required"
    if rule.needs_unit and move.unit_id is None:
        errors["unit_id"] = "required"
    if errors:
        raise InvalidCaseData(errors)
    return rule.target


def allowed_actions(status: Status, role: Role) -> list[Action]:
    """Actions offered on the case page, in table order."""
    return [
        action
        for action, rule in TRANSITIONS.items()
        if status in rule.sources and role in rule.roles and action != Action.ANSWER_AT_INTAKE
    ]

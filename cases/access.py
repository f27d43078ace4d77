"""Who may see which case and its caller's personal data (PDPA).

Supervisors and admins see everything; agents see the register but a caller's personal data,
and the free text that may name them (details, reasons, findings, notes), only on the cases
they handle, named explicitly (they opened it, or a supervisor assigned it
to them: writing a note does not make anyone a handler); a unit user sees only the cases
forwarded to its unit.
"""

from __future__ import annotations

from typing import Any

from cases.lifecycle import Role
from cases.models import Actor, Case

ALL_SEEING = frozenset({Role.SUPERVISOR, Role.ADMIN})


def can_see_case(actor: Actor, case: Case) -> bool:
    if actor.role is Role.UNIT:
        return (
            actor.unit_id is not None
            and case.unit_id == actor.unit_id
            and case.forwarded_at is not None
        )
    return True


def handles(actor: Actor, case: Case) -> bool:
    """May this person work the case (its lifecycle, its form) and see the caller's data?"""
    if actor.role in ALL_SEEING:
        return True
    if actor.role is Role.AGENT:
        return actor.user_id in (case.created_by, case.assigned_to)
    return can_see_case(actor, case)


def free_text_sql(actor: Actor, next_param: int) -> tuple[str, list[Any]]:
    """A condition over `cases c`: may the actor search the case's free text (its details
    can name the caller), as `handles` allows reading it."""
    if actor.role is Role.AGENT:
        return f"(c.created_by = ${next_param} OR c.assigned_to = ${next_param})", [actor.user_id]
    return "TRUE", []


def visible_cases_sql(actor: Actor, next_param: int) -> tuple[str, list[Any]]:
    """A WHERE fragment over `cases c` limiting rows to what the actor may see."""
    if actor.role is not Role.UNIT:
        return "TRUE", []
    if actor.unit_id is None:
        return "FALSE", []
    return f"c.unit_id = ${next_param} AND c.forwarded_at IS NOT NULL", [actor.unit_id]

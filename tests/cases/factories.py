"""Shared test data for case tests: a fixed time, people in each role, an intake form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cases.intake import IntakeForm
from cases.lifecycle import Action, CaseType, Channel, Move
from cases.models import Actor
from cases.repository import CaseRepository
from cases.working_days import BANGKOK
from database.pool import Database

#: Friday 20 Nov 2026, 10:00 in Bangkok: a working day.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=BANGKOK)


@dataclass(frozen=True)
class People:
    agent: Actor
    other_agent: Actor
    supervisor: Actor
    unit: Actor
    other_unit: Actor
    unit_id: int
    other_unit_id: int


async def add_user(db: Database, username: str, role: str, unit_id: int | None = None) -> int:
    user_id: int = await db.pool.fetchval(
        "INSERT INTO users (username, display_name, password_hash, role, unit_id) "
        "VALUES ($1, $2, 'x', $3, $4) RETURNING id",
        username,
        username.title(),
        role,
        unit_id,
    )
    return user_id


def complaint_form(**overrides: object) -> IntakeForm:
    values: dict[str, object] = {
        "channel": Channel.PHONE,
        "case_type": CaseType.COMPLAINT,
        "topic": "น้ำไม่ไหล",
        "details": "น้ำไม่ไหลมา 3 วัน <b>ด่วน</b>",
        "contact_name": "สมชาย ใจดี",
        "contact_phone": "0812345678",
        "province": "เชียงใหม่",
    }
    values.update(overrides)
    return IntakeForm(**values)  # type: ignore[arg-type]


async def forward(repo: CaseRepository, case_id: int, unit_id: int, actor: Actor) -> None:
    """Acknowledge, assess and forward a new case to a unit: how most unit tests begin."""
    for move in (
        Move(Action.ACKNOWLEDGE),
        Move(Action.ASSESS),
        Move(Action.FORWARD, unit_id=unit_id),
    ):
        await repo.transition(case_id, move, actor=actor, now=NOW)

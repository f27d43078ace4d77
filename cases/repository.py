"""Cases, their audit trail and the responsible units in PostgreSQL.

Every change to a case and the case_events row that records it (who, when, what, why) are
written in one transaction, so the history can never disagree with the case.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from cases.access import ALL_SEEING, can_see_case, handles
from cases.dates import be_year
from cases.errors import AccessDenied, CaseNotFound, InvalidCaseData, UnitNotFound
from cases.intake import IntakeForm
from cases.lifecycle import (
    CLOSED_AT_INTAKE,
    OPEN_STATUSES,
    Action,
    CaseType,
    Move,
    Role,
    Status,
    check_move,
)
from cases.models import Actor, Case, CaseEvent, CaseSummary, SurveyCandidate, Unit
from cases.sla import SlaPolicy
from cases.working_days import WorkingCalendar

log = structlog.get_logger()

REFERENCE_PREFIX = "HL"
MAX_NOTE = 5000

CASE_SELECT = """
SELECT c.*, u.name AS unit_name
FROM cases c LEFT JOIN units u ON u.id = c.unit_id
"""

_NEXT_REFERENCE = """
INSERT INTO case_reference_counters (be_year, last_value) VALUES ($1, 1)
ON CONFLICT (be_year) DO UPDATE SET last_value = case_reference_counters.last_value + 1
RETURNING last_value
"""

_INSERT_CASE = """
INSERT INTO cases (
    reference, call_id, caller_id, channel, case_type, topic, details, significant,
    received_at, sla_started_at, due_at, created_by, contact_name, contact_phone,
    contact_email, occupation, gender, age_band, province, notify_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20, $9, $9)
RETURNING id
"""

_UPDATE_FORM = """
UPDATE cases SET channel = $2, case_type = $3, topic = $4, details = $5, significant = $6,
    contact_name = $7, contact_phone = $8, contact_email = $9, occupation = $10, gender = $11,
    age_band = $12, province = $13, notify_by = $14, due_at = $15, sla_started_at = $16,
    updated_at = $17
WHERE id = $1
"""

_INSERT_EVENT = """
INSERT INTO case_events (case_id, at, actor_id, action, from_status, to_status, note, data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""

_HISTORY = """
SELECT e.at, e.action, e.from_status, e.to_status, e.note, e.data, e.actor_id,
       u.display_name AS actor_name
FROM case_events e LEFT JOIN users u ON u.id = e.actor_id
WHERE e.case_id = $1 ORDER BY e.at, e.id
"""

_CALLER_CASES = """
SELECT id, reference, case_type, status, topic, received_at, due_at, resolved_at
FROM cases
WHERE caller_id = $1 AND (status = ANY($2::text[]) OR received_at >= $3)
ORDER BY (status = ANY($2::text[])) DESC, received_at DESC
LIMIT $4
"""

_AWAITING_SURVEY = """
SELECT c.id, c.reference, c.call_id, c.created_by, c.resolved_at,
       COALESCE(cl.number, c.contact_phone) AS caller_number
FROM cases c LEFT JOIN callers cl ON cl.id = c.caller_id
WHERE c.case_type = 'complaint' AND c.resolved_at >= $1 AND c.anonymised_at IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM surveys s WHERE s.case_id = c.id AND s.selection = 'case_followup')
ORDER BY c.resolved_at
"""

_LOG_VIEW = """
INSERT INTO pdpa_view_log (case_id, case_reference, user_id, viewed_at, purpose)
VALUES ($1, $2, $3, $4, $5)
"""

_LOG_EXPORT = """
INSERT INTO pdpa_view_log (user_id, viewed_at, purpose, subject) VALUES ($1, $2, $3, $4)
"""

_ASSIGN = "UPDATE cases SET assigned_to = $2, updated_at = $3 WHERE id = $1"
_ASSIGNABLE = "SELECT display_name FROM users WHERE id = $1 AND role = 'agent' AND active"


def format_reference(year_be: int, number: int) -> str:
    return f"{REFERENCE_PREFIX}-{year_be}-{number:06d}"


class CaseRepository:
    """Reads and writes cases; callers pass the acting user and the current time."""

    def __init__(self, pool: asyncpg.Pool, policy: SlaPolicy | None = None) -> None:
        self.pool = pool
        self.policy = policy or SlaPolicy()

    async def calendar(self, conn: asyncpg.Connection | None = None) -> WorkingCalendar:
        """The policy's calendar plus the closed days an admin has entered."""
        rows = await (conn or self.pool).fetch("SELECT day FROM closed_days")
        return self.policy.calendar.with_closed_days(r["day"] for r in rows)

    async def _policy(self, conn: asyncpg.Connection) -> SlaPolicy:
        return SlaPolicy(
            days=self.policy.days,
            survey_days=self.policy.survey_days,
            calendar=await self.calendar(conn),
        )

    async def create_case(
        self,
        form: IntakeForm,
        *,
        actor: Actor,
        now: datetime,
        call_id: int | None = None,
        caller_id: int | None = None,
    ) -> Case:
        """Record an intake form. General inquiries are answered at intake and close at once;
        the others start their SLA clock now."""
        if actor.role is Role.UNIT:
            raise AccessDenied("unit users do not take calls", role=actor.role)
        async with self.pool.acquire() as conn, conn.transaction():
            policy = await self._policy(conn)
            year = be_year(now, self.policy.calendar.tz)
            number = await conn.fetchval(_NEXT_REFERENCE, year)
            reference = format_reference(year, number)
            due, sla_start = policy.due_and_start(form.case_type, now)
            case_id = await conn.fetchval(
                _INSERT_CASE,
                reference,
                call_id,
                caller_id,
                form.channel.value,
                form.case_type.value,
                form.topic,
                form.details,
                form.significant,
                now,
                sla_start,
                due,
                actor.user_id,
                *_personal_and_profile(form),
            )
            await self._event(
                conn,
                case_id,
                now,
                actor,
                "created",
                None,
                Status.RECEIVED,
                data={"case_type": form.case_type.value, "channel": form.channel.value},
            )
            if form.case_type in CLOSED_AT_INTAKE:
                await self._apply(
                    conn, case_id, Status.RECEIVED, Move(Action.ANSWER_AT_INTAKE), actor, now
                )
        log.info("case_created", case_id=case_id, reference=reference, case_type=form.case_type)
        return await self._load(case_id)

    async def ensure_may_edit(self, case_id: int, actor: Actor) -> None:
        """Raise AccessDenied (or CaseNotFound) unless `actor` may correct this case's intake
        form, so a page can refuse before it writes anything that goes with the form."""
        if not handles(actor, await self._load(case_id)):
            raise AccessDenied("not your case", case_id=case_id)

    async def update_case(
        self, case_id: int, form: IntakeForm, *, actor: Actor, now: datetime
    ) -> Case:
        """Correct the intake form; a change of type moves the due time with it."""
        async with self.pool.acquire() as conn, conn.transaction():
            current = await self._lock(conn, case_id)
            if not handles(actor, current):
                raise AccessDenied("not your case", case_id=case_id)
            policy = await self._policy(conn)
            due, sla_start = current.due_at, current.sla_started_at
            if form.case_type is not current.case_type:
                due, sla_start = policy.due_and_start(form.case_type, current.received_at)
            changed = _changed_fields(current, form)
            await conn.execute(
                _UPDATE_FORM,
                case_id,
                form.channel.value,
                form.case_type.value,
                form.topic,
                form.details,
                form.significant,
                *_personal_and_profile(form),
                due,
                sla_start,
                now,
            )
            await self._event(
                conn, case_id, now, actor, "updated", None, None, data={"fields": changed}
            )
        log.info("case_updated", case_id=case_id, fields=changed)
        return await self._load(case_id)

    async def assign(self, case_id: int, agent_id: int, *, actor: Actor, now: datetime) -> Case:
        """Make an agent the case's handler (supervisors and admins only); the history says
        who assigned it to whom."""
        if actor.role not in ALL_SEEING:
            raise AccessDenied("only supervisors assign cases", case_id=case_id)
        async with self.pool.acquire() as conn, conn.transaction():
            await self._lock(conn, case_id)
            name = await conn.fetchval(_ASSIGNABLE, agent_id)
            if name is None:
                raise InvalidCaseData({"assigned_to": "not_an_agent"})
            await conn.execute(_ASSIGN, case_id, agent_id, now)
            data = {"assigned_to": agent_id}
            await self._event(conn, case_id, now, actor, "assign", None, None, name, data)
        log.info("case_assigned", case_id=case_id, agent=agent_id)
        return await self._load(case_id)

    async def transition(self, case_id: int, move: Move, *, actor: Actor, now: datetime) -> Case:
        """Move a case through its lifecycle, or raise the domain error that forbids it."""
        async with self.pool.acquire() as conn, conn.transaction():
            current = await self._lock(conn, case_id)
            if not handles(actor, current):
                raise AccessDenied("not your case", case_id=case_id)
            if move.unit_id is not None:
                await self._require_unit(conn, move.unit_id)
            await self._apply(conn, case_id, current.status, move, actor, now)
        log.info("case_transition", case_id=case_id, action=move.action)
        return await self._load(case_id)

    async def add_note(self, case_id: int, note: str, *, actor: Actor, now: datetime) -> None:
        """Findings or a follow-up recorded without changing the status (a unit's inquiry,
        a call to the caller)."""
        note = note.strip()
        if not note:
            raise InvalidCaseData({"note": "required"})
        if len(note) > MAX_NOTE:
            raise InvalidCaseData({"note": "too_long"})
        async with self.pool.acquire() as conn, conn.transaction():
            current = await self._lock(conn, case_id)
            if not can_see_case(actor, current):
                raise AccessDenied("not your case", case_id=case_id)
            await self._event(conn, case_id, now, actor, "note", None, None, note)
            await conn.execute("UPDATE cases SET updated_at = $2 WHERE id = $1", case_id, now)
        log.info("case_note_added", case_id=case_id)

    async def _apply(
        self,
        conn: asyncpg.Connection,
        case_id: int,
        status: Status,
        move: Move,
        actor: Actor,
        now: datetime,
    ) -> None:
        target = check_move(status, actor.role, move)
        sets, args = _columns_for(move, now)
        assignments = ", ".join(f"{col} = ${i + 3}" for i, col in enumerate(sets))
        await conn.execute(
            f"UPDATE cases SET status = $2, updated_at = ${len(sets) + 3}"
            + (f", {assignments}" if assignments else "")
            + " WHERE id = $1",
            case_id,
            target.value,
            *args,
            now,
        )
        data: dict[str, Any] = {}
        if move.unit_id is not None:
            data["unit_id"] = move.unit_id
        if move.decision:
            data["decision"] = move.decision
            data["decision_reasons"] = move.decision_reasons
        await self._event(
            conn, case_id, now, actor, move.action.value, status, target, move.note, data
        )

    async def _event(
        self,
        conn: asyncpg.Connection,
        case_id: int,
        at: datetime,
        actor: Actor,
        action: str,
        from_status: Status | None,
        to_status: Status | None,
        note: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        await conn.execute(
            _INSERT_EVENT,
            case_id,
            at,
            actor.user_id,
            action,
            from_status.value if from_status else None,
            to_status.value if to_status else None,
            note,
            data or {},
        )

    async def get_case(self, case_id: int, actor: Actor) -> Case:
        """A case the actor may see; a unit user asking for another unit's case is refused."""
        case = await self._load(case_id)
        if not can_see_case(actor, case):
            raise AccessDenied("not your case", case_id=case_id)
        return case

    async def may_see_personal_data(self, case: Case, actor: Actor) -> bool:
        return handles(actor, case)

    async def log_personal_data_view(
        self, case: Case, actor: Actor, now: datetime, purpose: str = "case_detail"
    ) -> None:
        """PDPA: record who saw a complainant's personal data, when, for which case."""
        await self.pool.execute(_LOG_VIEW, case.id, case.reference, actor.user_id, now, purpose)
        log.info("pdpa_personal_data_viewed", case_id=case.id, user_id=actor.user_id)

    async def log_personal_data_export(
        self, user_id: int, subject: str, purpose: str, now: datetime
    ) -> None:
        """PDPA: record who exported callers' personal data (a report with their numbers)."""
        await self.pool.execute(_LOG_EXPORT, user_id, now, purpose, subject)
        log.info("pdpa_personal_data_exported", user_id=user_id, subject=subject)

    async def personal_data_views(self, case_id: int) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT l.viewed_at, l.user_id, l.purpose, u.display_name FROM pdpa_view_log l "
            "LEFT JOIN users u ON u.id = l.user_id WHERE l.case_id = $1 ORDER BY l.viewed_at",
            case_id,
        )
        return [dict(r) for r in rows]

    async def history(self, case_id: int) -> list[CaseEvent]:
        rows = await self.pool.fetch(_HISTORY, case_id)
        return [
            CaseEvent(
                at=r["at"],
                action=r["action"],
                from_status=r["from_status"],
                to_status=r["to_status"],
                note=r["note"],
                data=r["data"] if isinstance(r["data"], dict) else {},
                actor_id=r["actor_id"],
                actor_name=r["actor_name"],
            )
            for r in rows
        ]

    async def caller_cases(
        self, caller_id: int, *, now: datetime, recent_days: int = 90, limit: int = 10
    ) -> list[CaseSummary]:
        """The screen-pop: a caller's open cases first, then those of the last `recent_days`."""
        rows = await self.pool.fetch(
            _CALLER_CASES,
            caller_id,
            [s.value for s in OPEN_STATUSES],
            now - timedelta(days=recent_days),
            limit,
        )
        return [
            CaseSummary(
                id=r["id"],
                reference=r["reference"],
                case_type=CaseType(r["case_type"]),
                status=Status(r["status"]),
                topic=r["topic"],
                received_at=r["received_at"],
                due_at=r["due_at"],
                overdue=r["due_at"] is not None and r["resolved_at"] is None and now > r["due_at"],
            )
            for r in rows
        ]

    async def complaints_resolved_awaiting_survey(self, since: datetime) -> list[SurveyCandidate]:
        """Complaints resolved since `since` with no survey row yet (surveys.case_id); the
        survey is due within the policy's working days of the resolution."""
        rows = await self.pool.fetch(_AWAITING_SURVEY, since)
        policy = await self._policy_now()
        return [
            SurveyCandidate(
                case_id=r["id"],
                reference=r["reference"],
                call_id=r["call_id"],
                caller_number=r["caller_number"],
                agent_user_id=r["created_by"],
                resolved_at=r["resolved_at"],
                survey_due_at=policy.survey_due_at(r["resolved_at"]),
            )
            for r in rows
        ]

    async def _policy_now(self) -> SlaPolicy:
        async with self.pool.acquire() as conn:
            return await self._policy(conn)

    async def _load(self, case_id: int) -> Case:
        row = await self.pool.fetchrow(CASE_SELECT + " WHERE c.id = $1", case_id)
        if row is None:
            raise CaseNotFound(f"no case {case_id}", case_id=case_id)
        return Case.from_row(row)

    async def _lock(self, conn: asyncpg.Connection, case_id: int) -> Case:
        row = await conn.fetchrow(CASE_SELECT + " WHERE c.id = $1 FOR UPDATE OF c", case_id)
        if row is None:
            raise CaseNotFound(f"no case {case_id}", case_id=case_id)
        return Case.from_row(row)

    async def _require_unit(self, conn: asyncpg.Connection | asyncpg.Pool, unit_id: int) -> None:
        if await conn.fetchval("SELECT 1 FROM units WHERE id = $1", unit_id) is None:
            raise UnitNotFound(f"no unit {unit_id}", unit_id=unit_id)

    # Units and closed days: the reference data the case pages need.

    async def list_units(self) -> list[Unit]:
        rows = await self.pool.fetch("SELECT id, name, parent_id FROM units ORDER BY name")
        return [Unit(id=r["id"], name=r["name"], parent_id=r["parent_id"]) for r in rows]

    async def create_unit(self, name: str, parent_id: int | None = None) -> Unit:
        """A responsible unit; its staff are users with role `unit` and this unit_id."""
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidCaseData({"name": "required" if not name else "too_long"})
        if parent_id is not None:
            await self._require_unit(self.pool, parent_id)
        row = await self.pool.fetchrow(
            "INSERT INTO units (name, parent_id) VALUES ($1, $2) "
            "ON CONFLICT (name) DO NOTHING RETURNING id, name, parent_id",
            name,
            parent_id,
        )
        if row is None:
            raise InvalidCaseData({"name": "taken"})
        return Unit(id=row["id"], name=row["name"], parent_id=row["parent_id"])

    async def unit_workload(self) -> list[tuple[Unit, int, int]]:
        """Each unit with its number of staff and of open cases forwarded to it."""
        rows = await self.pool.fetch(
            "SELECT u.id, u.name, u.parent_id, "
            "(SELECT count(*) FROM users s WHERE s.unit_id = u.id AND s.active) AS staff, "
            "(SELECT count(*) FROM cases c WHERE c.unit_id = u.id "
            " AND c.status = ANY($1::text[])) AS open_cases "
            "FROM units u ORDER BY u.name",
            [s.value for s in OPEN_STATUSES],
        )
        return [
            (Unit(r["id"], r["name"], r["parent_id"]), r["staff"], r["open_cases"]) for r in rows
        ]

    async def add_closed_day(self, day: date, reason: str, user_id: int | None) -> None:
        await self.pool.execute(
            "INSERT INTO closed_days (day, reason, created_by) VALUES ($1, $2, $3) "
            "ON CONFLICT (day) DO UPDATE SET reason = EXCLUDED.reason",
            day,
            reason,
            user_id,
        )

    async def closed_days(self) -> list[tuple[date, str]]:
        rows = await self.pool.fetch("SELECT day, reason FROM closed_days ORDER BY day")
        return [(r["day"], r["reason"]) for r in rows]


def _personal_and_profile(form: IntakeForm) -> tuple[str | None, ...]:
    values = (
        form.contact_name,
        form.contact_phone,
        form.contact_email,
        form.occupation,
        form.gender,
        form.age_band,
        form.province,
        form.notify_by,
    )
    return tuple(v or None for v in values)


def _changed_fields(case: Case, form: IntakeForm) -> list[str]:
    """Names only: the audit trail says what changed without copying personal data."""
    names = (
        "channel",
        "case_type",
        "topic",
        "details",
        "significant",
        "contact_name",
        "contact_phone",
        "contact_email",
        "occupation",
        "gender",
        "age_band",
        "province",
        "notify_by",
    )
    return [n for n in names if (getattr(case, n) or "") != (getattr(form, n) or "")]


def _columns_for(move: Move, now: datetime) -> tuple[list[str], list[Any]]:
    """The columns a lifecycle action sets besides the status."""
    match move.action:
        case Action.FORWARD:
            return ["unit_id", "forwarded_at"], [move.unit_id, now]
        case Action.RESOLVE:
            return (
                ["resolved_at", "decision", "decision_reasons", "findings"],
                [now, move.decision, move.decision_reasons, move.note or None],
            )
        case Action.NOTIFY:
            return ["notified_at"], [now]
        case Action.ANSWER_AT_INTAKE:
            return ["resolved_at", "closed_at"], [now, now]
        case Action.CLOSE:
            return ["closed_at"], [now]
        case Action.RETURN:
            return ["unit_id", "forwarded_at"], [None, None]
        case Action.REOPEN:
            return ["resolved_at", "notified_at", "closed_at"], [None, None, None]
        case _:
            return [], []

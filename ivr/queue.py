"""The survey queue in PostgreSQL: scheduling, claiming, attempts, sessions and leases.

Rules that keep a restart from losing or doubling a survey:

* a survey is claimed (`pending` -> `dialing`) with `FOR UPDATE SKIP LOCKED` in the same
  transaction that opens its attempt, so two instances never dial the same survey;
* a claim carries a lease (ring timeout plus a margin). A `dialing` survey whose lease ran
  out belongs to a dialer that died. The attempt records its channel id and when it was
  dialled *before* the Originate is sent, so: an attempt never dialled is given back
  without counting; a dialled one is in doubt, and the dialer asks the PBX whether its
  channel still exists: while it does (or the PBX cannot say) the lease is extended; once
  it does not, the customer may have been phoned and the outcome is lost, so the survey is
  `incomplete` (`outcome_unknown`) and never phoned again. When the attempt had been
  answered but no FastAGI session ever came, it is `incomplete` (`no_script_session`);
* an `in_progress` survey whose session lease ran out lost its FastAGI session: `incomplete`;
* every status change is logged in `survey_events` by a trigger;
* each claim draws a fresh one-time session token (only its SHA-256 is stored): the FastAGI
  session must present it, and presenting it spends it, so nobody who merely reaches the
  FastAGI port can begin, rate or opt out a survey.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ivr.policy import Selection

RetryAt = Callable[[int, str, datetime], datetime | None]

_MARK_DIALLED = "UPDATE survey_attempts SET channel_id = $2, dialled_at = $3 WHERE id = $1"

_EXTEND_LEASE = "UPDATE surveys SET lease_until = $2 WHERE id = $1 AND status = 'dialing'"

_INSERT = """
INSERT INTO surveys (id, call_key, call_id, case_id, agent_user_id, caller_number, pbx, queue,
                     selection, status, reason, language, not_before, expires_at,
                     created_at, updated_at, lease_until, attempts)
VALUES ($1, $2,
        COALESCE($3, (SELECT id FROM calls WHERE call_key = $2)),
        $4,
        COALESCE($5, (SELECT id FROM users WHERE pbx = $7 AND interface = $15)),
        $6, $7, $8, $9, $10, $11, $12, $13, $14, $16, $16, $17, $18)
ON CONFLICT DO NOTHING
RETURNING id
"""

_BLOCKED = """
SELECT CASE
    WHEN EXISTS (SELECT 1 FROM survey_opt_outs WHERE number = $1) THEN 'opted_out'
    WHEN EXISTS (SELECT 1 FROM surveys WHERE caller_number = $1 AND status <> 'skipped'
                 AND created_at > $2) THEN 'recently_surveyed'
END
"""

_LINK = """
UPDATE surveys s SET
    call_id = COALESCE(s.call_id, c.id),
    agent_user_id = COALESCE(s.agent_user_id, c.agent_user_id),
    queue = COALESCE(s.queue, c.queue),
    case_id = COALESCE(s.case_id, (
        SELECT k.id FROM cases k WHERE k.call_id = c.id
        ORDER BY (k.case_type = 'complaint') DESC, k.id DESC LIMIT 1))
FROM calls c
WHERE s.id = ANY($1::uuid[]) AND c.call_key = s.call_key
"""

_EXPIRE = """
UPDATE surveys SET status = 'expired', reason = 'not_reached_in_time', updated_at = $1
WHERE status = 'pending' AND expires_at <= $1
"""

_SKIP_OPTED_OUT = """
UPDATE surveys s SET status = 'skipped', reason = 'opted_out', updated_at = $1
FROM survey_opt_outs o
WHERE s.status = 'pending' AND o.number = s.caller_number
"""

_SKIP_NO_COMPLAINT = """
UPDATE surveys s SET status = 'skipped', reason = 'no_complaint_case', updated_at = $1
WHERE s.status = 'pending' AND s.selection = 'complaint' AND s.not_before <= $1
  AND NOT EXISTS (
      SELECT 1 FROM cases k JOIN calls c ON c.id = k.call_id
      WHERE c.call_key = s.call_key AND k.case_type = 'complaint')
"""

_STALE = """
SELECT s.id, s.status, s.pbx, a.id AS attempt_id, a.channel_id, a.dialled_at
FROM surveys s
LEFT JOIN survey_attempts a ON a.survey_id = s.id AND a.ended_at IS NULL
WHERE s.status IN ('dialing', 'in_progress') AND s.lease_until <= $1
FOR UPDATE OF s SKIP LOCKED
"""

_ACTIVE = """
SELECT count(*) FROM surveys
WHERE status IN ('dialing', 'in_progress') AND lease_until > $1
"""

_CLAIM = """
WITH due AS (
    SELECT id FROM surveys
    WHERE status = 'pending' AND not_before <= $1 AND expires_at > $1
    ORDER BY not_before, created_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE surveys s
SET status = 'dialing', attempts = s.attempts + 1, lease_until = $3, reason = NULL,
    updated_at = $1
FROM due WHERE s.id = due.id
RETURNING s.id, s.caller_number, s.pbx, s.attempts, s.language
"""

_OPEN_ATTEMPTS = """
INSERT INTO survey_attempts (survey_id, started_at)
SELECT unnest($1::uuid[]), $2
RETURNING id, survey_id
"""

_SET_TOKENS = """
UPDATE surveys s SET session_token_hash = t.token_hash
FROM unnest($1::uuid[], $2::text[]) AS t(id, token_hash)
WHERE s.id = t.id
"""

_CLOSE_ATTEMPT = """
UPDATE survey_attempts
SET ended_at = $2, outcome = $3, reason_code = $4, hangup_cause = $5
WHERE id = $1 AND ended_at IS NULL
RETURNING survey_id
"""

_SET_STATUS = """
UPDATE surveys
SET status = $2, reason = $3, not_before = COALESCE($4, not_before), lease_until = NULL,
    attempts = attempts + $5, updated_at = $6
WHERE id = $1 AND status = ANY($7::text[])
RETURNING id
"""

_BEGIN_SESSION = """
UPDATE surveys SET status = 'in_progress', lease_until = $3, updated_at = $2,
    session_token_hash = NULL
WHERE id = $1 AND status IN ('dialing', 'pending') AND session_token_hash = $4
RETURNING language
"""

_RATE = """
UPDATE surveys SET status = 'completed', rating = $2, rated_at = $3, reason = NULL,
    lease_until = NULL, updated_at = $3
WHERE id = $1 AND status = 'in_progress'
RETURNING id
"""

_OPT_OUT = """
WITH target AS (SELECT caller_number FROM surveys WHERE id = $1)
INSERT INTO survey_opt_outs (number, created_at)
SELECT caller_number, $2 FROM target
ON CONFLICT (number) DO NOTHING
"""

_ADD_OPT_OUT = """
INSERT INTO survey_opt_outs (number, created_at) VALUES ($1, $2)
ON CONFLICT (number) DO NOTHING
"""


@dataclass(frozen=True)
class NewSurvey:
    """A survey to schedule; `status` is `skipped` (with `reason`) when policy said no, and
    `in_progress` for an in-call survey whose caller is already on the line."""

    caller_number: str
    pbx: str
    selection: Selection
    language: str
    not_before: datetime
    expires_at: datetime
    call_key: str | None = None
    call_id: int | None = None
    case_id: int | None = None
    agent_user_id: int | None = None
    agent_interface: str | None = None
    queue: str | None = None
    status: str = "pending"
    reason: str | None = None


@dataclass(frozen=True)
class Scheduled:
    """What scheduling did: the new survey's id (None for a duplicate) and its status."""

    survey_id: uuid.UUID | None
    status: str
    reason: str | None


@dataclass(frozen=True)
class InDoubt:
    """A dialled attempt whose dialer died before it learnt the outcome."""

    survey_id: uuid.UUID
    attempt_id: int
    pbx: str
    channel_id: str


@dataclass(frozen=True)
class Claim:
    """A survey claimed for dialing with its open attempt."""

    survey_id: uuid.UUID
    attempt_id: int
    caller_number: str
    pbx: str
    attempts: int
    language: str
    token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SurveyQueue:
    """All survey state transitions, each one statement or one transaction."""

    def __init__(self, pool: Any, *, dial_lease: timedelta, session_lease: timedelta) -> None:
        self._pool = pool
        self._dial_lease = dial_lease
        self._session_lease = session_lease

    async def schedule(
        self, new: NewSurvey, now: datetime, *, min_gap: timedelta, conn: Any = None
    ) -> Scheduled:
        """Insert a survey once per call (or per resolved complaint); a replayed event is a no-op.

        Opt-outs and the one-survey-per-number-per-period rule are checked under a per-number
        advisory lock, so two calls from one number ending together yield one survey. Given
        `conn`, it runs in that connection's transaction (the one taking the call's end).
        """
        if conn is not None:
            return await self._schedule_on(conn, new, now, min_gap)
        async with self._pool.acquire() as own, own.transaction():
            return await self._schedule_on(own, new, now, min_gap)

    async def _schedule_on(
        self, conn: Any, new: NewSurvey, now: datetime, min_gap: timedelta
    ) -> Scheduled:
        survey_id = uuid.uuid4()
        status, reason = new.status, new.reason
        if status != "skipped":
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('ivr.number:' || $1))",
                new.caller_number,
            )
            blocked = await conn.fetchval(_BLOCKED, new.caller_number, now - min_gap)
            if blocked is not None:
                status, reason = "skipped", blocked
        inserted = await conn.fetchval(
            _INSERT,
            survey_id,
            new.call_key,
            new.call_id,
            new.case_id,
            new.agent_user_id,
            new.caller_number,
            new.pbx,
            new.queue,
            new.selection,
            status,
            reason,
            new.language,
            new.not_before,
            new.expires_at,
            new.agent_interface,
            now,
            now + self._session_lease if status == "in_progress" else None,
            1 if status == "in_progress" else 0,
        )
        if inserted is None:
            return Scheduled(None, "duplicate", None)
        return Scheduled(inserted, status, reason)

    async def add_opt_out(self, number: str, now: datetime) -> None:
        await self._pool.execute(_ADD_OPT_OUT, number, now)

    async def sweep(self, now: datetime) -> list[InDoubt]:
        """Expire, skip and take back stale work; the dialled attempts left in doubt, for the
        dialer to ask the PBX about (see the module docstring for the rules)."""
        in_doubt = []
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_EXPIRE, now)
            await conn.execute(_SKIP_OPTED_OUT, now)
            await conn.execute(_SKIP_NO_COMPLAINT, now)
            for row in await conn.fetch(_STALE, now):
                if row["status"] == "dialing" and row["dialled_at"] is not None:
                    in_doubt.append(
                        InDoubt(row["id"], row["attempt_id"], row["pbx"], row["channel_id"])
                    )
                else:
                    await self._take_back(conn, row, now)
        return in_doubt

    async def _take_back(self, conn: Any, row: Any, now: datetime) -> None:
        if row["status"] == "in_progress":
            if row["attempt_id"] is not None:
                await conn.execute(_CLOSE_ATTEMPT, row["attempt_id"], now, "answered", None, None)
            await self._set(conn, row["id"], "incomplete", "session_lost", now, ["in_progress"])
        elif row["attempt_id"] is None:
            await self._set(conn, row["id"], "incomplete", "no_script_session", now, ["dialing"])
        else:
            await self._give_back(conn, row["id"], row["attempt_id"], "not_dialled", now, None)

    async def mark_dialled(self, claim: Claim, channel_id: str, now: datetime) -> None:
        """Record what is about to be dialled; called right before the Originate goes out."""
        await self._pool.execute(_MARK_DIALLED, claim.attempt_id, channel_id, now)

    async def settle(self, doubt: InDoubt, channel_exists: bool | None, now: datetime) -> None:
        """What the PBX said of a dialled attempt in doubt (None: it could not be asked)."""
        async with self._pool.acquire() as conn, conn.transaction():
            if channel_exists is not False:
                await conn.execute(_EXTEND_LEASE, doubt.survey_id, now + self._dial_lease)
                return
            await conn.execute(_CLOSE_ATTEMPT, doubt.attempt_id, now, "unknown", None, None)
            await self._set(
                conn, doubt.survey_id, "incomplete", "outcome_unknown", now, ["dialing"]
            )

    async def claim(self, now: datetime, max_channels: int) -> list[Claim]:
        """Claim due surveys, at most `max_channels` live across every instance."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ivr.claim'))")
            free = max_channels - await conn.fetchval(_ACTIVE, now)
            if free <= 0:
                return []
            rows = await conn.fetch(_CLAIM, now, free, now + self._dial_lease)
            if not rows:
                return []
            ids = [r["id"] for r in rows]
            attempts = {a["survey_id"]: a["id"] for a in await conn.fetch(_OPEN_ATTEMPTS, ids, now)}
            # URL-safe: no comma, which would split the dialplan's AGI() arguments.
            tokens = {survey_id: secrets.token_urlsafe(24) for survey_id in ids}
            await conn.execute(_SET_TOKENS, ids, [token_hash(tokens[i]) for i in ids])
            await conn.execute(_LINK, ids)
        return [
            Claim(
                survey_id=r["id"],
                attempt_id=attempts[r["id"]],
                caller_number=r["caller_number"],
                pbx=r["pbx"],
                attempts=r["attempts"],
                language=r["language"],
                token=tokens[r["id"]],
            )
            for r in rows
        ]

    async def finish_attempt(
        self,
        claim: Claim,
        outcome: str,
        now: datetime,
        *,
        retry_at: datetime | None,
        reason_code: int | None = None,
        hangup_cause: int | None = None,
    ) -> bool:
        """Record how one attempt ended; False when the attempt had already been taken back.

        Answered: the survey stays `dialing` (or is already `in_progress`, the FastAGI session
        may come before the OriginateResponse) with a lease for the session to begin.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            closed = await conn.fetchval(
                _CLOSE_ATTEMPT, claim.attempt_id, now, outcome, reason_code, hangup_cause
            )
            if closed is None:
                return False
            if outcome == "answered":
                await conn.execute(
                    "UPDATE surveys SET lease_until = $2 WHERE id = $1 AND status = 'dialing'",
                    claim.survey_id,
                    now + self._session_lease,
                )
            elif retry_at is not None:
                await self._set(
                    conn, claim.survey_id, "pending", outcome, now, ["dialing"], not_before=retry_at
                )
            else:
                await self._set(conn, claim.survey_id, "failed", outcome, now, ["dialing"])
        return True

    async def release(self, claim: Claim, now: datetime, retry_at: datetime) -> None:
        """Give a claim back without counting it: the PBX could not even be asked to dial."""
        async with self._pool.acquire() as conn, conn.transaction():
            await self._give_back(
                conn, claim.survey_id, claim.attempt_id, "pbx_unavailable", now, retry_at
            )

    async def _give_back(
        self,
        conn: Any,
        survey_id: uuid.UUID,
        attempt_id: int,
        reason: str,
        now: datetime,
        not_before: datetime | None,
    ) -> None:
        """An attempt that phoned nobody: closed, not counted, the survey pending again."""
        await conn.execute(_CLOSE_ATTEMPT, attempt_id, now, "failure", None, None)
        await self._set(
            conn,
            survey_id,
            "pending",
            reason,
            now,
            ["dialing"],
            not_before=not_before,
            attempts_delta=-1,
        )

    async def begin_session(self, survey_id: uuid.UUID, token: str, now: datetime) -> str | None:
        """The FastAGI session began with the survey's token: `in_progress`, the token spent;
        the language, or None if not runnable (unknown survey, wrong or spent token)."""
        language: str | None = await self._pool.fetchval(
            _BEGIN_SESSION, survey_id, now, now + self._session_lease, token_hash(token)
        )
        return language

    async def record_rating(self, survey_id: uuid.UUID, rating: int, now: datetime) -> None:
        """Store the rating and link the survey to its call, agent and case."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.fetchval(_RATE, survey_id, rating, now)
            await conn.execute(_LINK, [survey_id])

    async def end_incomplete(self, survey_id: uuid.UUID, reason: str, now: datetime) -> bool:
        async with self._pool.acquire() as conn:
            return await self._set(conn, survey_id, "incomplete", reason, now, ["in_progress"])

    async def opt_out(self, survey_id: uuid.UUID, now: datetime) -> None:
        """The caller asked never to be surveyed again: remember the number, end this one."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_OPT_OUT, survey_id, now)
            await self._set(conn, survey_id, "incomplete", "opted_out", now, ["in_progress"])
            await conn.execute(_SKIP_OPTED_OUT, now)

    async def _set(
        self,
        conn: Any,
        survey_id: uuid.UUID,
        status: str,
        reason: str | None,
        now: datetime,
        from_statuses: list[str],
        *,
        not_before: datetime | None = None,
        attempts_delta: int = 0,
    ) -> bool:
        done = await conn.fetchval(
            _SET_STATUS,
            survey_id,
            status,
            reason,
            not_before,
            attempts_delta,
            now,
            from_statuses,
        )
        return done is not None

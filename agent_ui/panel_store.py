"""What the agent panel stores: phase times on the call, wrap-up, availability, scripts.

The call row itself is written by the call tracker; the panel only fills in the columns an
agent's actions decide (phases, wrap-up) and never creates a call. Those are changes to the
row (`PhaseMarked`, `WrapupEnded`) made through the call writer, which orders them after
the tracker's records of the same call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from accounts.users import User
from agent_ui.desk import Availability, PhaseMark

SCRIPT_KINDS = ("greeting", "closing")
_SCRIPT_KEY = "panel.script.{kind}"

# $2 is the phase entered at $3; $5 the phase it ends, which lasted $6 seconds.
_MARK_PHASE = """
UPDATE calls SET
    agent_user_id = COALESCE(agent_user_id, $4),
    greeting_started_at = CASE WHEN $2 = 'greeting' THEN $3 ELSE greeting_started_at END,
    inquiry_started_at = CASE WHEN $2 = 'inquiry' THEN $3 ELSE inquiry_started_at END,
    closing_started_at = CASE WHEN $2 = 'closing' THEN $3 ELSE closing_started_at END,
    closing_ended_at = CASE WHEN $5 = 'closing' THEN $3 ELSE closing_ended_at END,
    wrapup_started_at = CASE WHEN $2 = 'wrapup' THEN $3 ELSE wrapup_started_at END,
    greeting_s = CASE WHEN $5 = 'greeting' THEN $6 ELSE greeting_s END,
    inquiry_s = CASE WHEN $5 = 'inquiry' THEN $6 ELSE inquiry_s END,
    closing_s = CASE WHEN $5 = 'closing' THEN $6 ELSE closing_s END,
    updated_at = $3
WHERE call_key = $1
RETURNING id
"""

_INSERT_PHASE_EVENT = """
INSERT INTO call_phase_events (call_id, phase, at, user_id) VALUES ($1, $2, $3, $4)
"""

# The first end of wrap-up counts; the row's id either way.
_END_WRAPUP = """
UPDATE calls SET wrapup_ended_at = COALESCE(wrapup_ended_at, $2),
    wrapup_s = CASE WHEN wrapup_ended_at IS NULL
                    THEN EXTRACT(EPOCH FROM ($2 - wrapup_started_at)) ELSE wrapup_s END,
    wrapup_code = CASE WHEN wrapup_ended_at IS NULL THEN $3 ELSE wrapup_code END,
    updated_at = CASE WHEN wrapup_ended_at IS NULL THEN $2 ELSE updated_at END
WHERE call_key = $1
RETURNING id
"""

_INSERT_AVAILABILITY = """
INSERT INTO agent_state_events (user_id, availability, reason, at, source)
VALUES ($1, $2, $3, $4, $5)
"""

_LAST_AVAILABILITY = """
SELECT availability, reason, at FROM agent_state_events
WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT 1
"""

_CALL_ID = "SELECT id FROM calls WHERE call_key = $1"

# A call the agent took: stored as theirs, or answered on their phone.
_TOOK_CALL = """
SELECT EXISTS (SELECT 1 FROM calls WHERE call_key = $1
               AND (agent_user_id = $2 OR (pbx = $3 AND agent_interface = $4)))
"""

# A live session: not expired, and used within the idle timeout (accounts.users._SESSION).
_WITH_SESSION = """
SELECT DISTINCT user_id FROM web_sessions
WHERE user_id = ANY($1::bigint[]) AND expires_at > $2 AND last_seen_at > $2 - $3::interval
"""

# Calls an agent was still on (talking, or in wrap-up) when the service stopped.
_OPEN_DESK_CALLS = """
SELECT k.call_key, k.pbx, k.queue, k.caller_number, k.caller_name, k.agent_user_id,
       k.ringing_at, k.answered_at, k.ended_at, k.transferred_to, k.agent_interface,
       COALESCE(array_agg(e.phase ORDER BY e.at, e.id) FILTER (WHERE e.id IS NOT NULL), '{}')
           AS phases,
       COALESCE(array_agg(e.at ORDER BY e.at, e.id) FILTER (WHERE e.id IS NOT NULL), '{}')
           AS phase_times
FROM calls k LEFT JOIN call_phase_events e ON e.call_id = k.id
WHERE k.agent_user_id IS NOT NULL AND k.answered_at >= $1 AND k.wrapup_ended_at IS NULL
  AND (k.ended_at IS NULL OR k.wrapup_started_at IS NOT NULL)
GROUP BY k.id
ORDER BY k.answered_at
"""

# The intake form keeps the caller's profile for the next pop; a blank field keeps what was
# known.
_REMEMBER_CALLER = """
INSERT INTO callers (number, name, occupation, gender, age_band, province, email, updated_at)
VALUES ($1, NULLIF($2, ''), NULLIF($3, ''), NULLIF($4, ''), NULLIF($5, ''), NULLIF($6, ''),
        NULLIF($7, ''), $8)
ON CONFLICT (number) DO UPDATE SET
    name = COALESCE(EXCLUDED.name, callers.name),
    occupation = COALESCE(EXCLUDED.occupation, callers.occupation),
    gender = COALESCE(EXCLUDED.gender, callers.gender),
    age_band = COALESCE(EXCLUDED.age_band, callers.age_band),
    province = COALESCE(EXCLUDED.province, callers.province),
    email = COALESCE(EXCLUDED.email, callers.email),
    updated_at = EXCLUDED.updated_at
RETURNING id
"""

_SCRIPTS = "SELECT key, value FROM settings WHERE key = ANY($1::text[])"

_SAVE_SCRIPT = """
INSERT INTO settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4)
ON CONFLICT (key) DO UPDATE
SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
"""


@dataclass(frozen=True, slots=True)
class PhaseMarked:
    """The call entered `mark`'s phase, ending `previous`: stored on the call's row and in
    its phase log (a calls.repository.CallChange)."""

    call_key: str
    mark: PhaseMark
    previous: PhaseMark | None
    user_id: int

    async def apply(self, conn: asyncpg.Connection) -> bool:
        phase, at, previous = self.mark.phase.value, self.mark.at, self.previous
        ended = previous.phase.value if previous else ""
        lasted = (at - previous.at).total_seconds() if previous else None
        call_id = await conn.fetchval(
            _MARK_PHASE, self.call_key, phase, at, self.user_id, ended, lasted
        )
        if call_id is None:
            return False
        await conn.execute(_INSERT_PHASE_EVENT, call_id, phase, at, self.user_id)
        return True


@dataclass(frozen=True, slots=True)
class WrapupEnded:
    """The agent's after-call work on this call ended, with the wrap-up code they chose
    (a calls.repository.CallChange)."""

    call_key: str
    at: datetime
    code: str | None = None

    async def apply(self, conn: asyncpg.Connection) -> bool:
        return await conn.fetchval(_END_WRAPUP, self.call_key, self.at, self.code) is not None


class PanelStore:
    """SQL for the panel's own writes and reads, on the shared pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def open_desk_calls(self, since: datetime) -> list[asyncpg.Record]:
        """Answered calls since `since` whose agent had not finished them (wrap-up included)."""
        rows: list[asyncpg.Record] = await self._pool.fetch(_OPEN_DESK_CALLS, since)
        return rows

    async def took_call(self, call_key: str, user: User) -> bool:
        """Whether `call_key` is a call this agent took, so an intake may name it."""
        took: bool = await self._pool.fetchval(
            _TOOK_CALL, call_key, user.id, user.pbx or "", user.interface or ""
        )
        return took

    async def call_id(self, call_key: str) -> int | None:
        value: int | None = await self._pool.fetchval(_CALL_ID, call_key)
        return value

    async def with_session(self, user_ids: list[int], now: datetime, idle: timedelta) -> set[int]:
        """Those of `user_ids` who still have a session that has neither expired nor idled."""
        rows = await self._pool.fetch(_WITH_SESSION, user_ids, now, idle)
        return {row[0] for row in rows}

    async def remember_caller(
        self,
        number: str,
        *,
        name: str,
        occupation: str,
        gender: str,
        age_band: str,
        province: str,
        email: str,
        at: datetime,
    ) -> int:
        """Create or complete the caller's profile; their id for the case."""
        caller_id: int = await self._pool.fetchval(
            _REMEMBER_CALLER, number, name, occupation, gender, age_band, province, email, at
        )
        return caller_id

    async def record_availability(
        self, user_id: int, availability: Availability, reason: str, at: datetime, source: str
    ) -> None:
        await self._pool.execute(_INSERT_AVAILABILITY, user_id, availability, reason, at, source)

    async def last_availability(self, user_id: int) -> tuple[Availability, str, datetime] | None:
        row = await self._pool.fetchrow(_LAST_AVAILABILITY, user_id)
        if row is None:
            return None
        return row["availability"], row["reason"], row["at"]

    async def scripts(self) -> dict[str, dict[str, str]]:
        """The admin's greeting and closing scripts, per language; missing ones are absent."""
        keys = [_SCRIPT_KEY.format(kind=kind) for kind in SCRIPT_KINDS]
        rows = await self._pool.fetch(_SCRIPTS, keys)
        found: dict[str, Any] = {row["key"]: row["value"] for row in rows}
        return {
            kind: {lang: str(text) for lang, text in found[key].items()}
            for kind, key in zip(SCRIPT_KINDS, keys, strict=True)
            if isinstance(found.get(key), dict)
        }

    async def save_script(
        self, kind: str, texts: dict[str, str], at: datetime, user_id: int
    ) -> None:
        if kind not in SCRIPT_KINDS:
            raise ValueError(f"unknown script {kind!r}")
        await self._pool.execute(_SAVE_SCRIPT, _SCRIPT_KEY.format(kind=kind), texts, at, user_id)

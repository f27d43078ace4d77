"""Rows for supervisor tests, written straight into the tables the figures read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from cases.working_days import BANGKOK


def local(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    """A Bangkok wall-clock time in 2026, as an aware UTC datetime."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=BANGKOK).astimezone(UTC)


async def add_user(
    pool: asyncpg.Pool, username: str, role: str = "agent", unit_id: int | None = None
) -> int:
    return int(
        await pool.fetchval(
            "INSERT INTO users (username, display_name, password_hash, role, unit_id) "
            "VALUES ($1, $2, 'x', $3, $4) RETURNING id",
            username,
            username.title(),
            role,
            unit_id,
        )
    )


async def add_call(
    pool: asyncpg.Pool,
    uniqueid: str,
    joined_at: datetime,
    wait_s: float,
    *,
    queue: str = "q1169",
    answered: bool = False,
    abandoned: bool = False,
    end_reason: str | None = None,
    agent: int | None = None,
    ring_s: float = 0,
    talk_s: float = 0,
    hold_s: float = 0,
    wrapup_s: float | None = None,
    phases: tuple[float, float, float] | None = None,
    position: int | None = None,
    caller_number: str = "0812345678",
    caller_name: str = "",
) -> int:
    """One queue call; an answered call ends after its talk and hold, then wraps up."""
    answered_at = joined_at + timedelta(seconds=wait_s) if answered else None
    ended_at = (
        answered_at + timedelta(seconds=talk_s + hold_s)
        if answered_at
        else joined_at + timedelta(seconds=wait_s)
    )
    wrap_start = ended_at if wrapup_s is not None else None
    wrap_end = ended_at + timedelta(seconds=wrapup_s) if wrapup_s is not None else None
    reason = end_reason or ("completed" if answered else "abandoned" if abandoned else None)
    greeting, inquiry, closing = phases or (None, None, None)
    return int(
        await pool.fetchval(
            "INSERT INTO calls (call_key, pbx, queue, uniqueid, caller_number, caller_name, "
            "joined_at, answered_at, ended_at, agent_user_id, wait_s, ring_s, talk_s, hold_s, "
            "wrapup_started_at, wrapup_ended_at, wrapup_s, abandoned, end_reason, position, "
            "original_position, greeting_s, inquiry_s, closing_s) VALUES ($1, 'pbx1', $2, $3, "
            "$4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19, "
            "$20, $21, $22) RETURNING id",
            f"pbx1/{queue}/{uniqueid}",
            queue,
            uniqueid,
            caller_number,
            caller_name,
            joined_at,
            answered_at,
            ended_at,
            agent,
            wait_s,
            ring_s if answered else None,
            talk_s if answered else None,
            hold_s,
            wrap_start,
            wrap_end,
            wrapup_s,
            abandoned,
            reason,
            position,
            greeting,
            inquiry,
            closing,
        )
    )


async def add_state(
    pool: asyncpg.Pool, user_id: int, availability: str, at: datetime, reason: str = ""
) -> None:
    await pool.execute(
        "INSERT INTO agent_state_events (user_id, availability, reason, at, source) "
        "VALUES ($1, $2, $3, $4, 'panel')",
        user_id,
        availability,
        reason,
        at,
    )


async def add_survey(
    pool: asyncpg.Pool,
    call_id: int | None,
    created_at: datetime,
    *,
    rating: int | None = None,
    attempts: int = 1,
    agent: int | None = None,
    queue: str | None = "q1169",
) -> None:
    status = "completed" if rating else ("failed" if attempts else "pending")
    await pool.execute(
        "INSERT INTO surveys (id, call_id, agent_user_id, caller_number, pbx, queue, status, "
        "not_before, expires_at, attempts, rating, rated_at, created_at) VALUES "
        "($1, $2, $3, '0812345678', 'pbx1', $4, $5, $6, $6, $7, $8, $9, $6)",
        uuid.uuid4(),
        call_id,
        agent,
        queue,
        status,
        created_at,
        attempts,
        rating,
        created_at if rating else None,
    )


async def add_caller(pool: asyncpg.Pool, number: str, **profile: str) -> int:
    columns = ", ".join(["number", *profile])
    marks = ", ".join(f"${n}" for n in range(1, len(profile) + 2))
    return int(
        await pool.fetchval(
            f"INSERT INTO callers ({columns}) VALUES ({marks}) RETURNING id",
            number,
            *profile.values(),
        )
    )


_counter = iter(range(1, 1_000_000))


async def add_case(
    pool: asyncpg.Pool,
    received_at: datetime,
    *,
    topic: str = "water bill",
    caller_id: int | None = None,
    contact_phone: str | None = None,
    case_type: str = "complaint",
    channel: str = "phone",
    due_at: datetime | None = None,
    closed_at: datetime | None = None,
    call_id: int | None = None,
    **profile: str,
) -> int:
    extra = ", ".join(profile)
    marks = ", ".join(f"${n}" for n in range(11, 11 + len(profile)))
    return int(
        await pool.fetchval(
            "INSERT INTO cases (reference, caller_id, contact_phone, case_type, channel, topic, "
            "received_at, due_at, closed_at, call_id"
            + (f", {extra}" if extra else "")
            + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10"
            + (f", {marks}" if marks else "")
            + ") RETURNING id",
            f"HL-2569-{next(_counter):06d}",
            caller_id,
            contact_phone,
            case_type,
            channel,
            topic,
            received_at,
            due_at,
            closed_at,
            call_id,
            *profile.values(),
        )
    )

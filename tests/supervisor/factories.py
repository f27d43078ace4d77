"""Rows for supervisor tests, written straight into the tables the figures read."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import asyncpg

from cases.working_days import BANGKOK
from tests.telephony.records import call_record


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
    """One queue call; an answered call ends after its talk and hold, then wraps up. Written
    as given (the figures must see exactly these values), the panel's columns with it."""
    answered_at = joined_at + timedelta(seconds=wait_s) if answered else None
    ended_at = (
        answered_at + timedelta(seconds=talk_s + hold_s)
        if answered_at
        else joined_at + timedelta(seconds=wait_s)
    )
    record = call_record(
        uniqueid,
        pbx="pbx1",
        queue=queue,
        caller_number=caller_number,
        caller_name=caller_name,
        joined_at=joined_at,
        answered_at=answered_at,
        ended_at=ended_at,
        wait_s=wait_s,
        ring_s=ring_s if answered else None,
        talk_s=talk_s if answered else None,
        hold_s=hold_s,
        abandoned=abandoned,
        end_reason=end_reason or ("completed" if answered else "abandoned" if abandoned else None),
        position=position,
        original_position=position,
    )
    greeting, inquiry, closing = phases or (None, None, None)
    row = asdict(record) | {
        "agent_user_id": agent,
        "wrapup_started_at": ended_at if wrapup_s is not None else None,
        "wrapup_ended_at": ended_at + timedelta(seconds=wrapup_s) if wrapup_s is not None else None,
        "wrapup_s": wrapup_s,
        "greeting_s": greeting,
        "inquiry_s": inquiry,
        "closing_s": closing,
    }
    marks = ", ".join(f"${n}" for n in range(1, len(row) + 1))
    return int(
        await pool.fetchval(
            f"INSERT INTO calls ({', '.join(row)}) VALUES ({marks}) RETURNING id", *row.values()
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

"""The one writer of the calls rows against a real PostgreSQL that refuses a record or goes
away: nothing handed in is lost, one bad record never blocks the others, and the writer
says it is failing while it is."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import structlog

from calls.dead_letters import CallDeadLetters
from calls.repository import CallRepository
from calls.writer import CallWriter
from database.pool import Database
from tests.own_postgres import own_postgres
from tests.telephony.records import call_record
from tests.waiting import until


def writer_for(db: Database) -> CallWriter:
    return CallWriter(CallRepository(db.pool), dead_letters=CallDeadLetters(db.pool), retry_s=0.1)


async def test_records_the_database_refuses_are_set_aside_and_the_others_are_stored(
    db: Database,
) -> None:
    writer = writer_for(db)
    await writer.start()
    with structlog.testing.capture_logs() as logs:
        await writer.save_call(call_record("1.1"))
        await writer.save_call(call_record("2.2", original_position=2**40))
        await writer.save_call(call_record("3.3", end_reason="eaten_by_a_grue"))
        await writer.save_call(call_record("4.4"))
        async with asyncio.timeout(10):
            await writer.flush()
    await writer.stop()
    stored = await db.pool.fetch("SELECT uniqueid FROM calls ORDER BY uniqueid")
    assert [r["uniqueid"] for r in stored] == ["1.1", "4.4"]
    aside = await db.pool.fetch("SELECT call_key, record, reason FROM call_dead_letters")
    assert sorted(r["call_key"] for r in aside) == ["lab/hotline/2.2", "lab/hotline/3.3"]
    assert all(r["reason"] and "uniqueid" in r["record"] for r in aside)
    assert [e["call_key"] for e in logs if e["event"] == "call_record_set_aside"] == [
        "lab/hotline/2.2",
        "lab/hotline/3.3",
    ]
    assert writer.health() == (True, "ok")


async def test_while_postgresql_is_down_the_writer_is_unhealthy_and_keeps_every_record() -> None:
    async with own_postgres() as (server, url):
        db = await Database.connect(url, max_size=2)
        writer = writer_for(db)
        await writer.start()
        try:
            first = call_record("1.1")
            await writer.save_call(first)
            await writer.flush()
            server.stop()
            await writer.save_call(replace(first, talk_s=42.0))
            await writer.save_call(call_record("2.2"))
            await until(lambda: not writer.health()[0], within=10.0)
            assert writer.health()[1].startswith("call records not stored")
            server.start()
            await until(lambda: writer.health()[0] and writer.pending == 0, within=20.0)
            rows = await db.pool.fetch("SELECT uniqueid, talk_s FROM calls ORDER BY uniqueid")
            assert [(r["uniqueid"], r["talk_s"]) for r in rows] == [("1.1", 42.0), ("2.2", None)]
            assert await db.pool.fetchval("SELECT count(*) FROM call_dead_letters") == 0
        finally:
            await writer.stop()
            await db.close()

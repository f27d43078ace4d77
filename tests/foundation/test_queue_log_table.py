"""Asterisk's queue_log table: what res_config_pgsql inserts fits, and its role can do no more."""

from __future__ import annotations

import asyncpg
import pytest

from database.pool import Database

# The statement res_config_pgsql sends for one adaptive-realtime row (logger.c passes the
# time as text, in UTC with queue_log_realtime_use_gmt).
ASTERISK_INSERT = (
    "INSERT INTO asterisk.queue_log (time, callid, queuename, agent, event,"
    " data1, data2, data3, data4, data5)"
    " VALUES ('2026-12-02 15:40:09.123456', '1764689999.12', 'hotline', 'NONE',"
    " 'ENTERQUEUE', '', '0812345678', '1', '', '')"
)


async def test_the_asterisk_role_may_insert_a_row_and_nothing_else(db: Database) -> None:
    async with db.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL ROLE asterisk_queue_log")
        await conn.execute(ASTERISK_INSERT)
        for forbidden in (
            "SELECT count(*) FROM asterisk.queue_log",
            "DELETE FROM asterisk.queue_log",
            "SELECT count(*) FROM calls",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute(forbidden)
    row = await db.pool.fetchrow("SELECT * FROM asterisk.queue_log")
    assert row is not None
    assert (row["callid"], row["event"], row["data2"], row["data3"]) == (
        "1764689999.12",
        "ENTERQUEUE",
        "0812345678",
        "1",
    )
    assert row["time"].microsecond == 123456 and row["id"] == 1

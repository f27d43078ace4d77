"""Migrations: forward-only, and safe when two instances start at the same moment."""

from __future__ import annotations

import asyncio

import asyncpg

from database.migrate import MIGRATIONS_DIR, apply_migrations


async def test_two_instances_migrating_at_once_apply_each_migration_once(
    server_url: str, fresh_db_url: str
) -> None:
    conn = await asyncpg.connect(fresh_db_url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await conn.execute(
            "DROP TABLE IF EXISTS _yoyo_migration, _yoyo_log, _yoyo_version, yoyo_lock"
        )
    finally:
        await conn.close()

    first, second = await asyncio.gather(
        apply_migrations(fresh_db_url), apply_migrations(fresh_db_url)
    )
    every_file = sorted(p.stem for p in MIGRATIONS_DIR.glob("*.sql"))
    assert sorted(first + second) == every_file

    conn = await asyncpg.connect(fresh_db_url)
    try:
        applied = await conn.fetchval("SELECT count(*) FROM _yoyo_migration")
        assert applied == len(every_file)
        assert await conn.fetchval("SELECT to_regclass('public.calls') IS NOT NULL")
    finally:
        await conn.close()
    assert await apply_migrations(fresh_db_url) == []

"""The committed schema is what the migrations produce, and applied migrations stay as they were."""

from __future__ import annotations

import asyncio
import difflib

import pytest

from database.migration_lock import check_lock, migration_hashes, read_lock
from database.schema import SCHEMA_FILE, dump_schema, normalise

MAKE_SCHEMA = "run `make schema` and review the diff of database/schema.sql"


async def test_the_migrations_produce_exactly_the_committed_schema(fresh_db_url: str) -> None:
    dumped = await asyncio.to_thread(dump_schema, fresh_db_url)
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    if dumped != committed:
        diff = difflib.unified_diff(
            committed.splitlines(),
            dumped.splitlines(),
            "database/schema.sql",
            "what the migrations produce",
            lineterm="",
            n=1,
        )
        shown = "\n".join(list(diff)[:80])
        pytest.fail(f"schema.sql is not what the migrations produce: {MAKE_SCHEMA}\n{shown}")


def test_versions_and_session_settings_do_not_change_the_schema() -> None:
    def dump(version: str, key: str) -> str:
        return (
            f"--\n-- Dumped from database version {version}\n-- Dumped by pg_dump version "
            f"{version}\n\\restrict {key}\n\nSET lock_timeout = 0;\n"
            "SELECT pg_catalog.set_config('search_path', '', false);\n\n\n"
            "CREATE TABLE public.t (id bigint);\n\\unrestrict {key}\n"
        )

    assert normalise(dump("16.2", "a1")) == normalise(dump("16.10", "Zq9"))
    assert "CREATE TABLE public.t (id bigint);" in normalise(dump("16.2", "a1"))


def test_applied_migrations_are_never_edited_or_removed() -> None:
    refusal = check_lock(read_lock(), migration_hashes()).refusal()
    assert not refusal, refusal


def test_every_migration_is_recorded_in_the_lock() -> None:
    new = check_lock(read_lock(), migration_hashes()).new
    assert not new, (
        f"new migrations {', '.join(new)} are not in database/migrations.lock: {MAKE_SCHEMA}"
    )


def test_an_edited_or_removed_migration_is_refused_and_a_new_one_is_not() -> None:
    locked = {"0001_base.sql": "aa", "0002_more.sql": "bb"}
    edited = check_lock(locked, {"0001_base.sql": "ab", "0002_more.sql": "bb", "0003_x.sql": "cc"})
    assert (edited.edited, edited.removed, edited.new) == (["0001_base.sql"], [], ["0003_x.sql"])
    assert "new migration" in edited.refusal()
    removed = check_lock(locked, {"0001_base.sql": "aa"})
    assert removed.removed == ["0002_more.sql"] and "0002_more.sql" in removed.refusal()
    grown = check_lock(locked, {**locked, "0003_x.sql": "cc"})
    assert grown.refusal() == "" and grown.new == ["0003_x.sql"]

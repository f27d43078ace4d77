"""Retention takes a call's recording with the call: the row, its mutes and notice, and the
file in the shared folder; the run's log counts it. A recent call keeps all of it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from calls.recording_files import RecordingFolder
from calls.recordings import RecordingStore, recording_file_name
from cases.retention import RetentionJob
from database.pool import Database
from telephony.events import RecordingNoticePlayed
from tests.cases.factories import NOW
from tests.cases.test_retention import THREE_YEARS_AGO


async def recorded_call(db: Database, folder: Path, key: str, when: datetime) -> Path:
    await db.pool.execute(
        "INSERT INTO calls (call_key, pbx, queue, uniqueid, joined_at, answered_at) "
        "VALUES ($1, 'pbx1', '1169', $1, $2, $2)",
        key,
        when,
    )
    store = RecordingStore(db.pool)
    name = recording_file_name(key)
    await store.requested(key, "pbx1", name, when)
    await store.muted(key, when, None)
    await store.ended(key, when, "call_ended")
    await store.notice_played(RecordingNoticePlayed("pbx1", when, key, "th+en"))
    path = folder / name
    path.write_bytes(b"RIFF")
    return path


async def test_an_old_calls_recording_goes_with_it_file_and_row(
    db: Database, tmp_path: Path
) -> None:
    old = await recorded_call(db, tmp_path, "pbx1/1169/old.1", THREE_YEARS_AGO)
    recent = await recorded_call(db, tmp_path, "pbx1/1169/new.2", NOW - timedelta(days=3))

    report = await RetentionJob(db.pool, recordings=RecordingFolder(tmp_path)).run_once(NOW)

    assert report.recordings_deleted == 1
    assert not old.exists() and recent.exists()
    for table in ("call_recordings", "call_recording_mutes", "call_recording_notices"):
        keys = await db.pool.fetch(f"SELECT call_key FROM {table}")
        assert [r["call_key"] for r in keys] == ["pbx1/1169/new.2"], table
    logged = await db.pool.fetchval("SELECT recordings_deleted FROM retention_runs")
    assert logged == 1

"""Call recordings: started over AMI at the answer, linked to the call, muted on the
agent's word, closed at the call's end, and found again to be played back or deleted.

Why AMI at the answer rather than MixMonitor() in the dialplan before Queue() (both are in
mixmonitor.txt): the dialplan's MixMonitorStart comes before QueueCallerJoin, for a call
hotline has not seen join; the one over AMI comes for a call the translator already follows,
and the file name is hotline's own choice. Option `b` records only the bridged
conversation, the same audio either way. Mute needs AMI in both cases.

A hang-up ends a recording without MixMonitorStop (the capture's second call): the call's
end closes it then. The file name is derived from the call key alone (a hash), so no
caller-supplied text ever reaches a path.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import structlog

from telephony.commands import CallControl
from telephony.errors import TelephonyError
from telephony.events import (
    CallAnswered,
    CallEnded,
    PbxSnapshot,
    RecordingMuted,
    RecordingNoticePlayed,
    RecordingStarted,
    RecordingStopped,
    TelephonyEvent,
)

log = structlog.get_logger()


def recording_file_name(call_key: str) -> str:
    """The recording's bare file name: 40 hex digits of the call key's SHA-256 + `.wav`."""
    return hashlib.sha256(call_key.encode()).hexdigest()[:40] + ".wav"


@dataclass(frozen=True, slots=True)
class MuteSpan:
    muted_at: datetime
    unmuted_at: datetime | None
    muted_by: int | None


@dataclass(frozen=True, slots=True)
class CallRecording:
    """A stored call's recording, with who may hear it (the call's own agent)."""

    call_id: int
    call_key: str
    agent_user_id: int | None
    file_name: str
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    notice_at: datetime | None
    notice_language: str | None


_REQUESTED = """
INSERT INTO call_recordings (call_key, pbx, file_name, requested_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (call_key) DO NOTHING
"""
_STARTED = "UPDATE call_recordings SET started_at = $2 WHERE call_key = $1 AND started_at IS NULL"
_ENDED = """
UPDATE call_recordings SET ended_at = $2, end_reason = $3
WHERE call_key = $1 AND ended_at IS NULL
"""
_MUTED = """
INSERT INTO call_recording_mutes (call_key, muted_at, muted_by)
SELECT r.call_key, $2, $3 FROM call_recordings r WHERE r.call_key = $1
ON CONFLICT (call_key) WHERE unmuted_at IS NULL DO NOTHING
"""
_UNMUTED = """
UPDATE call_recording_mutes SET unmuted_at = GREATEST($2, muted_at)
WHERE call_key = $1 AND unmuted_at IS NULL
"""
_MUTES = """
SELECT muted_at, unmuted_at, muted_by FROM call_recording_mutes
WHERE call_key = $1 ORDER BY muted_at
"""
_NOTICE = """
INSERT INTO call_recording_notices (call_key, pbx, language, played_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (call_key) DO NOTHING
"""
_OF_CALL = """
SELECT k.id AS call_id, k.call_key, k.agent_user_id, r.file_name, r.started_at, r.ended_at,
       r.end_reason, n.played_at AS notice_at, n.language AS notice_language
FROM calls k
JOIN call_recordings r ON r.call_key = k.call_key
LEFT JOIN call_recording_notices n ON n.call_key = k.call_key
WHERE k.id = $1
"""
_PLAYED = """
INSERT INTO pdpa_view_log (user_id, viewed_at, purpose, subject) VALUES ($1, $2, $3, $4)
"""
#: The PDPA view log's purpose for a play of a recording.
PLAY_PURPOSE = "recording_play"


class RecordingStore:
    """The recording rows, their mute spans and notices (SQL beside the code that runs it)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def requested(self, call_key: str, pbx: str, file_name: str, at: datetime) -> None:
        await self.pool.execute(_REQUESTED, call_key, pbx, file_name, at)

    async def started(self, call_key: str, at: datetime) -> None:
        await self.pool.execute(_STARTED, call_key, at)

    async def ended(self, call_key: str, at: datetime, reason: str) -> None:
        """Close the recording (once) and any mute still open at that moment."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_UNMUTED, call_key, at)
            await conn.execute(_ENDED, call_key, at, reason)

    async def muted(self, call_key: str, at: datetime, by: int | None) -> None:
        await self.pool.execute(_MUTED, call_key, at, by)

    async def unmuted(self, call_key: str, at: datetime) -> None:
        await self.pool.execute(_UNMUTED, call_key, at)

    async def mutes(self, call_key: str) -> list[MuteSpan]:
        return [MuteSpan(**row) for row in await self.pool.fetch(_MUTES, call_key)]

    async def notice_played(self, event: RecordingNoticePlayed) -> None:
        await self.pool.execute(_NOTICE, event.call_key, event.pbx, event.language, event.at)

    async def of_call(self, call_id: int) -> CallRecording | None:
        row = await self.pool.fetchrow(_OF_CALL, call_id)
        return None if row is None else CallRecording(**row)

    async def played(self, call_id: int, user_id: int, at: datetime) -> None:
        """One play of a call's recording in the PDPA view log."""
        await self.pool.execute(_PLAYED, user_id, at, PLAY_PURPOSE, f"call {call_id}")


@dataclass(frozen=True, slots=True)
class _Live:
    pbx: str
    channel: str


class Recorder:
    """A telephony subscriber: records each answered queue call and follows its recording."""

    def __init__(self, store: RecordingStore, control: CallControl, pbx_folder: str) -> None:
        self.store = store
        self._control = control
        self.pbx_folder = pbx_folder.rstrip("/")
        self._live: dict[str, _Live] = {}
        self._muted_by: dict[str, int] = {}

    async def __call__(self, event: TelephonyEvent) -> None:
        try:
            await self._follow(event)
        except (asyncpg.PostgresError, OSError):
            log.exception("recording_not_stored", event=type(event).__name__)

    async def _follow(self, event: TelephonyEvent) -> None:
        match event:
            case CallAnswered() if event.caller_channel:
                await self._start(event)
            case RecordingStarted():
                await self.store.started(event.call_key, event.at)
            case RecordingMuted(muted=True):
                by = self._muted_by.pop(event.call_key, None)
                await self.store.muted(event.call_key, event.at, by)
            case RecordingMuted():
                await self.store.unmuted(event.call_key, event.at)
            case RecordingStopped():
                self._live.pop(event.call_key, None)
                await self.store.ended(event.call_key, event.at, "stopped")
            case CallEnded():
                # Also a recording started before a restart of hotline (not in _live).
                self._live.pop(event.call_key, None)
                await self.store.ended(event.call_key, event.at, "call_ended")
            case RecordingNoticePlayed():
                await self.store.notice_played(event)
            case PbxSnapshot():
                live = {call.call_key for call in event.connected}
                for call_key, call in list(self._live.items()):
                    if call.pbx == event.pbx and call_key not in live:
                        del self._live[call_key]
                        await self.store.ended(call_key, event.at, "call_ended")

    async def _start(self, event: CallAnswered) -> None:
        name = recording_file_name(event.call_key)
        await self.store.requested(event.call_key, event.pbx, name, event.at)
        try:
            await self._control.start_recording(
                event.pbx, event.caller_channel, f"{self.pbx_folder}/{name}"
            )
        except TelephonyError as exc:
            log.warning("recording_refused", call_key=event.call_key, error=exc.code)
            await self.store.ended(event.call_key, event.at, "refused")
            return
        self._live[event.call_key] = _Live(event.pbx, event.caller_channel)

    async def mute(self, call_key: str, *, muted: bool, by: int) -> bool:
        """Mute or unmute the call's recording (False: none is running). The span is stored
        from the PBX's MixMonitorMute, what the file really holds."""
        live = self._live.get(call_key)
        if live is None:
            return False
        if muted:
            self._muted_by[call_key] = by
        await self._control.mute_recording(live.pbx, live.channel, muted=muted)
        return True

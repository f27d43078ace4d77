"""Write-behind for the `calls` rows, so neither the AMI consumer nor the panel waits on the
database, and the one place that orders what is written to a call's row.

Asterisk drops a reader that falls 100 ms behind, and one commit per milestone caps the
event rate at the disk's fsync rate. Every save carries the whole record, so the newest one
per call is enough: saves are coalesced per call_key and written in batches, one
transaction each, by a single task. The panel's changes to a call's row (phase marks,
wrap-up end) go through the same batches, after the records and in the order they were
made. The panel may hear of a call before the tracker's first save of it is written (they
follow the PBX separately), so a change whose call has no row yet waits for that call's next
record. A failing database delays records and changes (retried, newest record kept) instead
of stalling the link; `flush()` waits until all that can be stored is, and `health()` is
down while the database fails. A record the database refuses outright is set aside
(`calls.dead_letters`) so the rest flow on. The task keeps a batch it could not finish, so
a supervisor that restarts it loses nothing. `follow_ups` lets the composition root add
its own changes to every batch, made in the transaction that stores the records they
follow (the survey owed to a call is scheduled with the call's end).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Protocol

import structlog

from calls.record import CallRecord
from calls.repository import CallChange
from runtime.tasks import Spawn, start_task

log = structlog.get_logger()


class BatchCallSink(Protocol):
    """Stores records, then changes, in one transaction (calls.repository.CallRepository)."""

    async def save_calls(
        self, records: Sequence[CallRecord], changes: Sequence[CallChange]
    ) -> list[CallChange]:
        """The changes whose call has no row yet, untouched, in order."""
        ...


class DeadLetters(Protocol):
    """Where refused records go (calls.dead_letters.CallDeadLetters)."""

    def refused(self, error: BaseException) -> bool:
        """True when the error is about the values, not the database."""
        ...

    async def set_aside(self, record: CallRecord, reason: str) -> None: ...


# Changes to make with a batch of records, in its transaction, after them.
FollowUps = Callable[[Sequence[CallRecord]], list[CallChange]]


class CallWriter:
    """A CallSink in front of a BatchCallSink; `start()` before use, `stop()` flushes."""

    def __init__(
        self,
        sink: BatchCallSink,
        *,
        dead_letters: DeadLetters | None = None,
        follow_ups: FollowUps | None = None,
        max_batch: int = 500,
        retry_s: float = 1.0,
        max_pending: int = 100_000,
        stop_timeout_s: float = 5.0,
        spawn: Spawn = start_task,
    ) -> None:
        self._sink = sink
        self._dead_letters = dead_letters
        self._follow_ups = follow_ups
        self._failing = ""
        self._spawn = spawn
        self._max_batch = max_batch
        self._retry_s = retry_s
        self._max_pending = max_pending
        self._stop_timeout_s = stop_timeout_s
        self._pending: dict[str, CallRecord] = {}
        self._changes: dict[str, list[CallChange]] = {}
        self._rowless: set[str] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        """Records and changes handed in and not yet stored (for health and metrics)."""
        return len(self._pending) + sum(len(changes) for changes in self._changes.values())

    def health(self) -> tuple[bool, str]:
        """Down, with the database's error, from a failed write until the next one works."""
        return not self._failing, self._failing or "ok"

    async def save_call(self, record: CallRecord) -> None:
        self._pending.pop(record.call_key, None)
        self._pending[record.call_key] = record
        if len(self._pending) > self._max_pending:
            oldest = next(iter(self._pending))
            log.error("call_record_dropped", call_key=oldest, pending=len(self._pending))
            del self._pending[oldest]
        self._wake_up()

    def change(self, change: CallChange) -> None:
        """Queue a change to a call's row, behind everything handed in for that call."""
        self._changes.setdefault(change.call_key, []).append(change)
        if len(self._changes) > self._max_pending:
            oldest = next(iter(self._changes))
            log.error("call_changes_dropped", call_key=oldest, calls=len(self._changes))
            del self._changes[oldest]
            self._rowless.discard(oldest)
        if change.call_key not in self._rowless:
            self._wake_up()

    async def start(self) -> None:
        if self._task is None:
            self._task = self._spawn("call-writer", self._run)

    async def flush(self) -> None:
        """Wait until everything handed in so far is stored, but the changes of calls that
        have no row yet."""
        await self._idle.wait()

    async def stop(self) -> None:
        """Flush (at most `stop_timeout_s`), then stop the writing task."""
        if self._task is None:
            return
        try:
            async with asyncio.timeout(self._stop_timeout_s):
                await self.flush()
        except TimeoutError:
            log.error("call_writer_stopped_with_pending", pending=self.pending)
        if self._changes:
            log.warning("call_changes_without_a_row", calls=len(self._changes))
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def _wake_up(self) -> None:
        self._idle.clear()
        self._wake.set()

    def _writable(self) -> bool:
        return bool(self._pending) or any(key not in self._rowless for key in self._changes)

    async def _run(self) -> None:
        while True:
            while self._writable():
                await self._write(*self._take())
            if not self._wake.is_set():
                self._idle.set()
            await self._wake.wait()
            self._wake.clear()

    async def _write(self, records: list[CallRecord], changes: list[CallChange]) -> None:
        try:
            await self._store(records, changes)
        except Exception as exc:
            if self._refused(exc):
                await self._isolate(records, changes)
            else:
                await self._trouble(exc, records, changes)
        except BaseException:
            self._give_back(records, changes)
            raise

    async def _store(self, records: list[CallRecord], changes: list[CallChange]) -> None:
        follow = self._follow_ups(records) if self._follow_ups is not None and records else []
        rowless = await self._sink.save_calls(records, [*changes, *follow])
        self._failing = ""
        mine = {id(change) for change in follow}
        waiting = [change for change in rowless if id(change) not in mine]
        self._rowless.update(change.call_key for change in waiting)
        self._put_back(waiting)

    def _refused(self, error: BaseException) -> bool:
        return self._dead_letters is not None and self._dead_letters.refused(error)

    async def _isolate(self, records: list[CallRecord], changes: list[CallChange]) -> None:
        """Something in the batch was refused: store each alone, setting aside the refused."""
        alone: list[tuple[list[CallRecord], list[CallChange]]] = [
            *(([r], []) for r in records),
            *(([], [c]) for c in changes),
        ]
        for done, part in enumerate(alone):
            try:
                try:
                    await self._store(*part)
                except Exception as exc:
                    if not self._refused(exc):
                        raise
                    await self._set_aside(*part, f"{type(exc).__name__}: {exc}")
            except Exception as exc:
                await self._trouble(exc, *_joined(alone[done:]))
                return
            except BaseException:
                self._give_back(*_joined(alone[done:]))
                raise

    async def _set_aside(
        self, records: list[CallRecord], changes: list[CallChange], reason: str
    ) -> None:
        assert self._dead_letters is not None
        for record in records:
            await self._dead_letters.set_aside(record, reason)
        for change in changes:
            log.error("call_change_refused", call_key=change.call_key, reason=reason)

    async def _trouble(
        self, error: Exception, records: list[CallRecord], changes: list[CallChange]
    ) -> None:
        """The database failed (down, busy): keep the batch and try again shortly."""
        log.error(
            "call_batch_save_failed",
            calls=len(records),
            changes=len(changes),
            error=f"{type(error).__name__}: {error}",
        )
        self._failing = f"call records not stored: {type(error).__name__}"
        self._give_back(records, changes)
        await asyncio.sleep(self._retry_s)

    def _take(self) -> tuple[list[CallRecord], list[CallChange]]:
        """A batch: the oldest records, then the changes that can follow them (a call's
        changes waiting for its row go with its record)."""
        keys = list(self._pending)[: self._max_batch]
        records = [self._pending.pop(key) for key in keys]
        self._rowless.difference_update(keys)
        due = [key for key in self._changes if key not in self._rowless][: self._max_batch]
        return records, [change for key in due for change in self._changes.pop(key)]

    def _give_back(self, records: list[CallRecord], changes: list[CallChange]) -> None:
        """Put a failed batch back in front, unless a newer save of the same call came in."""
        older = {r.call_key: r for r in records if r.call_key not in self._pending}
        self._pending = {**older, **self._pending}
        self._put_back(changes)

    def _put_back(self, changes: list[CallChange]) -> None:
        """Changes go back in front of those handed in since, in their order."""
        back: dict[str, list[CallChange]] = {}
        for change in changes:
            back.setdefault(change.call_key, []).append(change)
        for key, newer in self._changes.items():
            back.setdefault(key, []).extend(newer)
        self._changes = back


def _joined(
    parts: list[tuple[list[CallRecord], list[CallChange]]],
) -> tuple[list[CallRecord], list[CallChange]]:
    return [r for rs, _ in parts for r in rs], [c for _, cs in parts for c in cs]

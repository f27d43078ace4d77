"""Write-behind for call records, so the AMI consumer never waits on the database.

Asterisk drops a reader that falls 100 ms behind, and one commit per milestone caps the
event rate at the disk's fsync rate. Every save carries the whole record, so the newest one
per call is enough: saves are coalesced per call_key and written in batches, one
transaction each, by a single task. A failing database delays records (retried, newest
kept) instead of stalling the link; `flush()` waits until all that was handed in is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

import structlog

from calls.record import CallRecord

log = structlog.get_logger()


class BatchCallSink(Protocol):
    """Stores several records in one transaction (calls.repository.CallRepository.save_calls)."""

    async def save_calls(self, records: Sequence[CallRecord]) -> None: ...


class CallWriter:
    """A CallSink in front of a BatchCallSink; `start()` before use, `stop()` flushes."""

    def __init__(
        self,
        sink: BatchCallSink,
        *,
        max_batch: int = 500,
        retry_s: float = 1.0,
        max_pending: int = 100_000,
        stop_timeout_s: float = 5.0,
    ) -> None:
        self._sink = sink
        self._max_batch = max_batch
        self._retry_s = retry_s
        self._max_pending = max_pending
        self._stop_timeout_s = stop_timeout_s
        self._pending: dict[str, CallRecord] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        """Records handed in and not yet stored (for health and metrics)."""
        return len(self._pending)

    async def save_call(self, record: CallRecord) -> None:
        self._pending.pop(record.call_key, None)
        self._pending[record.call_key] = record
        if len(self._pending) > self._max_pending:
            oldest = next(iter(self._pending))
            log.error("call_record_dropped", call_key=oldest, pending=len(self._pending))
            del self._pending[oldest]
        self._idle.clear()
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="call-writer")

    async def flush(self) -> None:
        """Wait until every record handed in so far has been stored."""
        await self._idle.wait()

    async def stop(self) -> None:
        """Flush (at most `stop_timeout_s`), then stop the writing task."""
        if self._task is None:
            return
        try:
            async with asyncio.timeout(self._stop_timeout_s):
                await self.flush()
        except TimeoutError:
            log.error("call_writer_stopped_with_pending", pending=len(self._pending))
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._take()
                try:
                    await self._sink.save_calls(batch)
                except Exception:
                    log.exception("call_batch_save_failed", calls=len(batch))
                    self._give_back(batch)
                    await asyncio.sleep(self._retry_s)
            if not self._wake.is_set():
                self._idle.set()

    def _take(self) -> list[CallRecord]:
        keys = list(self._pending)[: self._max_batch]
        return [self._pending.pop(key) for key in keys]

    def _give_back(self, batch: list[CallRecord]) -> None:
        """Put a failed batch back in front, unless a newer save of the same call came in."""
        older = {r.call_key: r for r in batch if r.call_key not in self._pending}
        self._pending = {**older, **self._pending}

"""Background tasks: the loop every job of the case system runs in (escalation, retention),
and how tasks are stopped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

import structlog

from runtime.clock import Clock

log = structlog.get_logger()


async def run_every(
    run_once: Callable[[datetime], Awaitable[object]],
    clock: Clock,
    interval: float,
    *,
    failed: str,
    wake: asyncio.Event | None = None,
) -> None:
    """`run_once(now)` every `interval` seconds, or as soon as `wake` is set. A failed run
    (database down, a bug) is logged as `failed` and tried again next time, never fatal."""
    if wake is None:
        wake = asyncio.Event()
    while True:
        try:
            await run_once(clock.now())
        except Exception:
            log.exception(failed)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), interval)
        wake.clear()


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel the tasks and wait until each has ended, whatever it ended with, so nothing is
    left running (or writing) after a stop."""
    stopping = list(tasks)
    for task in stopping:
        task.cancel()
    await asyncio.gather(*stopping, return_exceptions=True)

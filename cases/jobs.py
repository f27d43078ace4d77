"""The loop every background job of the case system runs in (escalation, retention)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog

from cases.clock import Clock

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

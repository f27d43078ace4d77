"""Long-lived tasks whose death is never silent: logged, counted, reported, restarted.

A plain `asyncio.create_task` that raises (or returns, or meets a CancelledError nobody
asked for) simply ends; the AMI consumer stops, calls stop being tracked, and nothing says
so. `TaskSupervisor.spawn` starts such a task instead. When it ends without being cancelled
by its owner, the supervisor logs the error with the task's name, counts it in
`hotline_task_failures_total{task}`, reports the task down to /healthz and restarts it
after a backoff that doubles with each death in a row.

Restart, not just report: a restarted AMI consumer or subscriber picks up its queue where
the dead one left it, so calls keep flowing while an operator looks. Restarting does not
hide anything: a task stays reported until it has run `settle_s` without dying again, so
one that dies again and again stays down on /healthz (at most one restart per
`restart_max_s`), and every death is in the log and the counter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client import Counter

log = structlog.get_logger()

Run = Callable[[], Coroutine[Any, Any, None]]
# How owners start their long-lived tasks: `spawn(name, run)` calls `run()` in a task and
# returns it; cancelling that task is how the owner stops it.
Spawn = Callable[[str, Run], asyncio.Task[None]]


def start_task(name: str, run: Run) -> asyncio.Task[None]:
    """An unsupervised task, for parts used on their own (tests, tools, benchmarks)."""
    return asyncio.create_task(run(), name=name)


@dataclass(frozen=True, slots=True)
class TaskHealth:
    name: str
    up: bool
    why: str
    since: datetime


@dataclass(slots=True)
class _Watched:
    """What the supervisor knows of one task, for /healthz."""

    name: str
    since: datetime
    started: float
    running: bool = True
    deaths: int = 0
    error: str = ""


class TaskSupervisor:
    """Starts named long-lived tasks, restarts those that die, and reports their state."""

    def __init__(
        self,
        failures: Counter | None = None,
        *,
        restart_min_s: float = 1.0,
        restart_max_s: float = 60.0,
        settle_s: float = 60.0,
    ) -> None:
        self._failures = failures
        self._restart_min_s = restart_min_s
        self._restart_max_s = restart_max_s
        self._settle_s = settle_s
        self._watched: dict[asyncio.Task[None], _Watched] = {}

    def spawn(self, name: str, run: Run) -> asyncio.Task[None]:
        """Run `run()` as the task `name`, again after each unexpected end, until cancelled."""
        watched = _Watched(name, datetime.now(UTC), time.monotonic())
        task = asyncio.create_task(self._keep(watched, run), name=name)
        self._watched[task] = watched
        task.add_done_callback(self._watched.pop)
        return task

    def health(self) -> list[TaskHealth]:
        """Every task still owned: up once it has run `settle_s` since its last death."""
        now = time.monotonic()
        return [self._health_of(watched, now) for watched in self._watched.values()]

    def _health_of(self, watched: _Watched, now: float) -> TaskHealth:
        in_a_row = f"{watched.deaths} death{'s' if watched.deaths > 1 else ''} in a row"
        if not watched.running:
            why = f"died ({watched.error}), {in_a_row}; restarting"
            return TaskHealth(watched.name, False, why, watched.since)
        if watched.deaths and now - watched.started < self._settle_s:
            why = f"restarted after dying ({watched.error}), {in_a_row}"
            return TaskHealth(watched.name, False, why, watched.since)
        return TaskHealth(watched.name, True, "running", watched.since)

    async def _keep(self, watched: _Watched, run: Run) -> None:
        while True:
            error = await _until_it_ends(run)
            if time.monotonic() - watched.started >= self._settle_s:
                watched.deaths = 0
            watched.deaths += 1
            delay = min(self._restart_min_s * 2 ** (watched.deaths - 1), self._restart_max_s)
            watched.running, watched.error = False, _describe(error)
            watched.since = datetime.now(UTC)
            if self._failures is not None:
                self._failures.labels(watched.name).inc()
            log.error(
                "task_died",
                task=watched.name,
                error=watched.error,
                deaths_in_a_row=watched.deaths,
                restart_in_s=delay,
                exc_info=error,
            )
            await asyncio.sleep(delay)
            watched.running, watched.started = True, time.monotonic()
            watched.since = datetime.now(UTC)
            log.warning("task_restarted", task=watched.name, deaths_in_a_row=watched.deaths)


async def _until_it_ends(run: Run) -> BaseException | None:
    """Run once; what ended it (None when it returned). The owner's cancel passes through."""
    error: BaseException | None = None
    try:
        await run()
    except (Exception, asyncio.CancelledError) as exc:
        error = exc
    keeper = asyncio.current_task()
    if keeper is not None and keeper.cancelling():
        if error is not None and not isinstance(error, asyncio.CancelledError):
            log.error("task_failed_while_stopping", task=keeper.get_name(), exc_info=error)
        raise asyncio.CancelledError
    return error


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "it returned"
    if isinstance(error, asyncio.CancelledError):
        return "cancelled from inside"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__

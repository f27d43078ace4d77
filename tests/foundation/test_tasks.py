"""The task supervisor: a long-lived task that dies is logged, counted, reported and restarted;
one its owner stops is none of those."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry, Counter
from structlog.testing import capture_logs

from runtime.tasks import TaskHealth, TaskSupervisor
from tests.telephony.fake_ami import eventually


class Deaths:
    """A failure counter of its own, read the way /metrics reads it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.counter = Counter("deaths", "deaths", ["task"], registry=self.registry)

    def of(self, task: str) -> float:
        return self.registry.get_sample_value("deaths_total", {"task": task}) or 0.0


@pytest.fixture
def deaths() -> Deaths:
    return Deaths()


@contextlib.asynccontextmanager
async def owned(task: asyncio.Task[None]) -> AsyncIterator[asyncio.Task[None]]:
    """The owner's side: it stops its task on the way out, the way components do."""
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def health_of(supervisor: TaskSupervisor, name: str) -> TaskHealth:
    (health,) = [h for h in supervisor.health() if h.name == name]
    return health


async def test_a_task_that_raises_is_logged_counted_reported_and_restarted(
    deaths: Deaths,
) -> None:
    supervisor = TaskSupervisor(deaths.counter, restart_min_s=0.01, settle_s=0.3)
    runs: list[int] = []
    forever = asyncio.Event()

    async def consumer() -> None:
        runs.append(len(runs) + 1)
        if len(runs) == 1:
            raise RuntimeError("translator bug")
        await forever.wait()

    with capture_logs() as logs:
        async with owned(supervisor.spawn("ami-consume-pbx1", consumer)):
            await eventually(lambda: len(runs) == 2)
            restarted = health_of(supervisor, "ami-consume-pbx1")
            await eventually(lambda: health_of(supervisor, "ami-consume-pbx1").up)

    assert not restarted.up
    assert "RuntimeError: translator bug" in restarted.why
    (died,) = [entry for entry in logs if entry["event"] == "task_died"]
    assert died["task"] == "ami-consume-pbx1"
    assert died["error"] == "RuntimeError: translator bug"
    assert isinstance(died["exc_info"], RuntimeError)
    assert deaths.of("ami-consume-pbx1") == 1


async def test_a_task_that_dies_again_and_again_stays_reported_and_backs_off(
    deaths: Deaths,
) -> None:
    supervisor = TaskSupervisor(deaths.counter, restart_min_s=0.01, restart_max_s=0.04, settle_s=60)

    async def broken() -> None:
        raise ConnectionError("database gone")

    with capture_logs() as logs:
        async with owned(supervisor.spawn("call-writer", broken)):
            await eventually(lambda: deaths.of("call-writer") >= 5)
            health = health_of(supervisor, "call-writer")

    assert not health.up
    delays = [entry["restart_in_s"] for entry in logs if entry["event"] == "task_died"]
    assert delays[:5] == [0.01, 0.02, 0.04, 0.04, 0.04]


@pytest.mark.parametrize(
    ("ending", "why"),
    [("returns", "it returned"), ("is cancelled from inside", "cancelled from inside")],
)
async def test_a_task_that_ends_without_being_stopped_has_died(
    deaths: Deaths, ending: str, why: str
) -> None:
    supervisor = TaskSupervisor(deaths.counter, restart_min_s=60)

    async def ends() -> None:
        if ending == "returns":
            return
        work = asyncio.create_task(asyncio.sleep(60))
        work.cancel()
        await work

    async with owned(supervisor.spawn("case_escalation", ends)):
        await eventually(lambda: deaths.of("case_escalation") == 1)
        health = health_of(supervisor, "case_escalation")
    assert not health.up
    assert why in health.why and "restarting" in health.why


async def test_a_task_its_owner_stops_is_no_failure(deaths: Deaths) -> None:
    supervisor = TaskSupervisor(deaths.counter)
    started = asyncio.Event()

    async def subscriber() -> None:
        started.set()
        await asyncio.Event().wait()

    with capture_logs() as logs:
        async with owned(supervisor.spawn("telephony-subscriber:tracker", subscriber)):
            await started.wait()
            assert health_of(supervisor, "telephony-subscriber:tracker").up
    assert supervisor.health() == []
    assert deaths.of("telephony-subscriber:tracker") == 0
    assert [entry for entry in logs if entry["log_level"] == "error"] == []

"""What an operator's probe and dashboard see of the service following a (simulated) PBX:
a subscriber or task that stops working turns /healthz red, naming it; /metrics shows the
link state and the backlogs as they are, without anyone reading /healthz."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from config.settings import load_settings
from hotline.app import create_app
from pbxsim import PbxSimulator
from telephony.events import CallQueued, TelephonyEvent
from tests.foundation.conftest import MONITOR, MONITORING_TOKEN
from tests.tcp_proxy import TcpProxy
from web.keys import EventSubscriber, event_subscribers_key

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    async with PbxSimulator.lab(speed=50.0) as sim:
        yield sim


@pytest.fixture
def service(sim: PbxSimulator, fresh_db_url: str, tmp_path: Path) -> Callable[..., TestClient]:
    """The service following `sim` (`via` a proxy in front of it), with extra telephony
    subscribers a feature would add."""

    def build(*subscribers: EventSubscriber, via: tuple[str, int] | None = None) -> TestClient:
        host, port = via or sim.address
        pbx = {"name": "pbx1", "host": host, "port": port, "username": "hotline"}
        settings = load_settings(
            database_url=fresh_db_url,
            data_dir=tmp_path,
            pbx=[{**pbx, "secret": "hotline"}],
            security={"monitoring_token": MONITORING_TOKEN},
        )
        app = create_app(settings)
        app[event_subscribers_key].extend(subscribers)
        return TestClient(TestServer(app))

    return build


async def scrape(client: TestClient) -> Samples:
    text = await (await client.get("/metrics", headers=MONITOR)).text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def until(check: Callable[[], Any], what: str) -> Any:
    """Poll `check` (a coroutine function) until it returns something true; fail after 10 s."""
    for _ in range(200):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not seen within 10 s")


def link_up(samples: Samples) -> float | None:
    return samples.get(("hotline_pbx_link_up", (("pbx", "pbx1"),)))


class Broken:
    """A feature's subscriber with a bug that makes it raise on every event."""

    async def __call__(self, event: TelephonyEvent) -> None:
        raise LookupError("no desk for this phone")


class WaitsOnCancelledWork:
    """A subscriber whose first event awaits work somebody else cancelled: the CancelledError
    that comes out would end its task, and with it every later event, without a word."""

    def __init__(self) -> None:
        self.queued: list[str] = []
        self._interrupted = False

    async def __call__(self, event: TelephonyEvent) -> None:
        if not self._interrupted:
            self._interrupted = True
            work = asyncio.create_task(asyncio.sleep(60))
            work.cancel()
            await work
        if isinstance(event, CallQueued):
            self.queued.append(event.caller_number)


class Stuck:
    """A subscriber that stops at its first call until released: its queue grows."""

    def __init__(self) -> None:
        self.released = asyncio.Event()

    async def __call__(self, event: TelephonyEvent) -> None:
        if isinstance(event, CallQueued):
            await self.released.wait()


async def test_healthz_lists_every_long_lived_task_running(
    service: Callable[..., TestClient],
) -> None:
    async with service() as client:
        body = await (await client.get("/healthz", headers=MONITOR)).json()
        samples = await scrape(client)
    assert {"name": "call-writer", "up": True, "why": "ok"} in body["services"]
    refused = [("pbx", "pbx1"), ("problem", "malformed")]
    assert samples[("hotline_ami_frames_total", tuple(refused))] == 0.0
    assert {part["name"] for part in body["tasks"]} >= {
        "ami-consume-pbx1",
        "ami-supervise-pbx1",
        "call-writer",
        "telephony-subscriber:call-tracker",
        "telephony-subscriber:event-counter",
        "telephony-subscriber:AgentEventRouter",
        "survey-dialer",
        "case_escalation",
        "case_retention",
        "panel-heartbeat",
    }
    assert all(part["why"] == "running" for part in body["tasks"])


async def test_a_subscriber_raising_on_every_event_turns_healthz_503_naming_it(
    sim: PbxSimulator, service: Callable[..., TestClient]
) -> None:
    with capture_logs() as logs:
        async with service(Broken()) as client:
            await sim.place_call("hotline", "0812345678")

            async def degraded() -> Any:
                response = await client.get("/healthz", headers=MONITOR)
                return await response.json() if response.status == 503 else None

            body = await until(degraded, "/healthz answering 503")

    (broken,) = [part for part in body["subscribers"] if part["name"] == "Broken"]
    assert broken["up"] is False
    assert "LookupError('no desk for this phone')" in broken["why"]
    assert all(part["up"] for part in body["subscribers"] if part["name"] != "Broken")
    assert all(part["up"] for part in body["pbx"])
    failures = [entry for entry in logs if entry["event"] == "telephony_subscriber_failed"]
    assert failures and {entry["subscriber"] for entry in failures} == {"Broken"}


async def test_a_subscriber_task_that_dies_is_reported_counted_and_restarted(
    sim: PbxSimulator, service: Callable[..., TestClient]
) -> None:
    subscriber = WaitsOnCancelledWork()
    task = "telephony-subscriber:WaitsOnCancelledWork"
    with capture_logs() as logs:
        async with service(subscriber) as client:

            async def degraded() -> Any:
                response = await client.get("/healthz", headers=MONITOR)
                return await response.json() if response.status == 503 else None

            body = await until(degraded, "/healthz answering 503")
            samples = await scrape(client)
            await sim.place_call("hotline", "0812345678")

            async def delivered() -> bool:
                return subscriber.queued == ["0812345678"]

            await until(delivered, "the restarted subscriber getting the next call")

    (dead,) = [part for part in body["tasks"] if part["name"] == task]
    assert dead["up"] is False and "cancelled from inside" in dead["why"]
    assert samples[("hotline_task_failures_total", (("task", task),))] == 1
    assert [entry["task"] for entry in logs if entry["event"] == "task_died"] == [task]


async def test_pbx_up_follows_the_link_without_any_healthz_read(
    sim: PbxSimulator, service: Callable[..., TestClient]
) -> None:
    async with service() as client:

        async def up() -> bool:
            return link_up(await scrape(client)) == 1

        async def down() -> bool:
            return link_up(await scrape(client)) == 0

        await until(up, "pbx_up 1 after login")
        await sim.refuse_connections()
        sim.drop_connections()
        await until(down, "pbx_up 0 once the PBX is gone")
        await sim.accept_connections()
        await until(up, "pbx_up 1 once the PBX is back")


async def test_metrics_show_the_backlogs_while_a_subscriber_and_the_database_are_slow(
    sim: PbxSimulator, service: Callable[..., TestClient], fresh_db_url: str
) -> None:
    stuck = Stuck()
    subscriber = (("pbx", "pbx1"), ("subscriber", "Stuck"))
    async with service(stuck) as client:
        locker = await asyncpg.connect(fresh_db_url)
        try:
            async with locker.transaction():
                await locker.execute("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE")
                for n in range(3):
                    await sim.place_call("hotline", f"081000000{n}")

                async def behind() -> Samples | None:
                    samples = await scrape(client)
                    slow = samples.get(("hotline_subscriber_backlog", subscriber), 0)
                    pending = samples.get(("hotline_call_writer_pending", ()), 0)
                    return samples if slow >= 2 and pending >= 1 else None

                samples = await until(behind, "backlogs while the subscriber and database stall")
                stuck.released.set()
        finally:
            await locker.close()

        async def caught_up() -> bool:
            after = await scrape(client)
            return (
                after[("hotline_subscriber_backlog", subscriber)] == 0
                and after[("hotline_call_writer_pending", ())] == 0
            )

        await until(caught_up, "backlogs back to 0")
    tracker = (("pbx", "pbx1"), ("subscriber", "call-tracker"))
    assert samples[("hotline_subscriber_backlog", tracker)] == 0, "only the slow one is behind"
    assert samples[("hotline_ami_backlog", (("pbx", "pbx1"),))] == 0


async def test_a_stalled_pbx_link_shows_down_on_healthz_within_five_seconds(
    sim: PbxSimulator, service: Callable[..., TestClient]
) -> None:
    proxy = TcpProxy(sim.address)
    async with service(via=await proxy.start()) as client:

        async def pbx(up: bool) -> Any:
            body = await (await client.get("/healthz", headers=MONITOR)).json()
            return next((p for p in body["pbx"] if p["up"] is up), None)

        await until(lambda: pbx(True), "link up")
        stalled_at = asyncio.get_running_loop().time()
        proxy.stall()
        down = await until(lambda: pbx(False), "stalled link down")
        assert asyncio.get_running_loop().time() - stalled_at < 5.0
        assert down["why"].startswith("no answer to Ping")
        proxy.restore()
        await until(lambda: pbx(True), "link back up")
    await proxy.close()

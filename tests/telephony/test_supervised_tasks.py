"""Telephony's long-lived tasks under a supervisor: a consumer or writer that dies is
restarted and picks up where it stopped; backlogs are told per PBX and subscriber."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from calls.record import CallRecord
from calls.repository import CallChange
from calls.writer import CallWriter
from config.settings import load_settings
from hotline.app import create_app
from runtime.tasks import TaskSupervisor
from telephony.ami.link import AmiLink
from telephony.ami.protocol import AmiMessage
from telephony.events import CallQueued, TelephonyEvent
from telephony.service import TelephonyService
from tests.foundation.conftest import MONITOR, MONITORING_TOKEN
from tests.telephony.fake_ami import SECRET, FakeAmi, error, eventually

JOIN = (
    b"Event: QueueCallerJoin\r\nChannel: PJSIP/trunk-%d\r\nCallerIDNum: 08100000%02d\r\n"
    b"Uniqueid: 1795237000.%d\r\nLinkedid: 1795237000.%d\r\nQueue: hotline\r\n"
    b"Position: 1\r\nCount: 1\r\n\r\n"
)


def joins(*numbers: int) -> bytes:
    return b"".join(JOIN % (n, n, n, n) for n in numbers)


async def interrupted() -> None:
    """What awaiting work that somebody else cancelled does: raise CancelledError."""
    work = asyncio.create_task(asyncio.sleep(60))
    work.cancel()
    await work


@pytest.fixture
async def supervisor() -> TaskSupervisor:
    return TaskSupervisor(restart_min_s=0.01)


async def test_a_dead_ami_consumer_is_restarted_and_later_events_still_arrive(
    ami: FakeAmi, supervisor: TaskSupervisor
) -> None:
    delivered: list[str] = []

    async def on_message(message: AmiMessage) -> None:
        if message.name == "Interrupt":
            await interrupted()
        delivered.append(message.name or "")

    link = AmiLink(ami.config(), on_message, spawn=supervisor.spawn)
    await link.start()
    try:
        await eventually(lambda: link.up)
        ami.push(b"Event: Interrupt\r\n\r\nEvent: Next\r\n\r\n")
        await eventually(lambda: "Next" in delivered)
        (consumer,) = [h for h in supervisor.health() if h.name == "ami-consume-pbx1"]
    finally:
        await link.stop()
    assert not consumer.up and "cancelled from inside" in consumer.why


class GatedSink:
    """A database whose first save is cut off mid-way (the writer's task dies with it)."""

    def __init__(self) -> None:
        self.stored: list[str] = []
        self.cut_off = True

    async def save_calls(
        self, records: Sequence[CallRecord], changes: Sequence[CallChange]
    ) -> list[CallChange]:
        if self.cut_off:
            self.cut_off = False
            await interrupted()
        self.stored.extend(record.call_key for record in records)
        return []


async def test_a_call_writer_that_dies_mid_batch_stores_that_batch_after_its_restart(
    supervisor: TaskSupervisor,
) -> None:
    sink = GatedSink()
    writer = CallWriter(sink, spawn=supervisor.spawn)
    await writer.start()
    try:
        await writer.save_call(CallRecord("lab/q/1", "lab", "q", "1"))
        await writer.save_call(CallRecord("lab/q/2", "lab", "q", "2"))
        async with asyncio.timeout(5):
            await writer.flush()
    finally:
        await writer.stop()
    assert sorted(sink.stored) == ["lab/q/1", "lab/q/2"]


def without_resync(server: FakeAmi) -> None:
    """A PBX refusing the resync: the link logs it and goes on with the live events."""
    server.responders["QueueStatus"] = lambda action: error(action, "Permission denied")


async def test_backlog_is_told_per_pbx_and_subscriber(ami: FakeAmi) -> None:
    other = FakeAmi()
    await other.start()
    for server in (ami, other):
        without_resync(server)
    released = asyncio.Event()
    handled: list[str] = []

    async def slow(event: TelephonyEvent) -> None:
        if isinstance(event, CallQueued):
            await released.wait()

    async def quick(event: TelephonyEvent) -> None:
        handled.append(type(event).__name__)

    service = TelephonyService([ami.config(), other.config(name="pbx2")])
    service.subscribe(slow, name="slow")
    service.subscribe(quick, name="quick")
    await service.start()
    try:
        await eventually(lambda: all(h.up for h in service.health()))
        ami.push(joins(1, 2, 3))
        await eventually(lambda: handled.count("CallQueued") == 3)
        other.push(joins(4, 5))
        await eventually(lambda: handled.count("CallQueued") == 5)
        backlog = service.backlog()
        released.set()
    finally:
        await service.stop()
        await other.close()
    # The first join holds `slow` up; the other four wait behind it, each under its PBX.
    assert backlog == {
        ("pbx1", "slow"): 2,
        ("pbx2", "slow"): 2,
        ("pbx1", "quick"): 0,
        ("pbx2", "quick"): 0,
    }


async def test_two_subscribers_cannot_share_a_name(ami: FakeAmi) -> None:
    async def one(event: TelephonyEvent) -> None: ...

    async def other(event: TelephonyEvent) -> None: ...

    service = TelephonyService([ami.config()])
    service.subscribe(one, name="panel")
    with pytest.raises(ValueError, match="already called 'panel'"):
        service.subscribe(other, name="panel")


@contextlib.asynccontextmanager
async def service_following(
    ami: FakeAmi, database_url: str, data_dir: Path
) -> AsyncIterator[TestClient]:
    pbx = {"name": "pbx1", "host": "127.0.0.1", "port": ami.port, "username": "hotline"}
    settings = load_settings(
        database_url=database_url,
        data_dir=data_dir,
        pbx=[{**pbx, "secret": SECRET}],
        security={"monitoring_token": MONITORING_TOKEN},
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


async def test_metrics_show_the_ami_backlog_while_the_pbx_is_slow_to_answer_the_resync(
    ami: FakeAmi, fresh_db_url: str, tmp_path: Path
) -> None:
    """No answer to QueueStatus holds the link's consumer in the resync; events pile up."""
    async with service_following(ami, fresh_db_url, tmp_path) as client:
        for _ in range(200):
            if any(a["Action"] == "QueueStatus" for a in ami.actions):
                break
            await asyncio.sleep(0.05)
        ami.push(joins(1, 2, 3, 4, 5))
        for _ in range(200):
            text = await (await client.get("/metrics", headers=MONITOR)).text()
            if 'hotline_ami_backlog{pbx="pbx1"} 5.0' in text:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the AMI backlog never showed 5 waiting messages")

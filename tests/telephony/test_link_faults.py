"""The AMI link against the PBX simulator through a TCP proxy that cuts and stalls, as a
network does: hotline must be back as soon as the PBX is, and notice a silent link fast."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from pbxsim import PbxSimulator
from telephony.ami.backoff import Backoff
from telephony.ami.link import AmiLink
from telephony.config import PbxConfig
from tests.tcp_proxy import TcpProxy
from tests.telephony.fake_ami import Recorder
from tests.waiting import until


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    async with PbxSimulator.lab(speed=50.0) as sim:
        relay = TcpProxy(sim.address)
        yield relay
        await relay.close()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def link(proxy: TcpProxy, recorder: Recorder) -> AsyncIterator[AmiLink]:
    host, port = await proxy.start()
    ami = AmiLink(
        PbxConfig("pbx1", host, port, "hotline", "hotline"),
        recorder.on_message,
        recorder.on_connected,
        recorder.on_disconnected,
    )
    await ami.start()
    await until(lambda: ami.up, within=5.0)
    yield ami
    await ami.stop()


async def test_a_stalled_link_is_declared_down_within_five_seconds(
    proxy: TcpProxy, link: AmiLink
) -> None:
    proxy.stall()
    await until(lambda: not link.up, within=5.0)
    assert link.health().why.startswith("no answer to Ping")
    proxy.restore()
    await until(lambda: link.up, within=5.0)


async def test_after_a_long_outage_the_link_is_back_within_seconds_of_the_pbx(
    proxy: TcpProxy, link: AmiLink
) -> None:
    proxy.cut()
    await until(lambda: not link.up, within=1.0)
    await asyncio.sleep(16.0)
    proxy.restore()
    await until(lambda: link.up, within=3.5)


async def test_a_dropped_connection_is_retried_at_once(
    proxy: TcpProxy, link: AmiLink, recorder: Recorder
) -> None:
    for sessions in (2, 3, 4):
        proxy.cut()
        proxy.restore()
        await until(lambda n=sessions: recorder.items.count("connected") == n, within=0.4)
    assert link.up


def test_retries_wait_at_most_the_cap_jittered_and_start_again_at_once_after_a_reset() -> None:
    draws = iter([0.0, 1.0, 0.5, 1.0, 0.0])
    backoff = Backoff(0.5, 3.0, lambda: next(draws))
    assert [backoff.next_delay() for _ in range(6)] == [0.0, 0.25, 1.0, 1.5, 3.0, 1.5]
    backoff.reset()
    assert backoff.next_delay() == 0.0

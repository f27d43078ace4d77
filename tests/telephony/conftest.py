"""Fixtures shared by the telephony tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from telephony.ami.link import AmiLink
from telephony.commands import AmiCallControl
from tests.telephony.fake_ami import FakeAmi, eventually, ignore


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    """A scripted AMI server with the default answers, listening on a free port."""
    server = FakeAmi()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def link(ami: FakeAmi) -> AsyncIterator[AmiLink]:
    """A real AmiLink logged in to the scripted server, its events dropped."""
    link = AmiLink(ami.config(), ignore)
    await link.start()
    await eventually(lambda: link.up)
    yield link
    await link.stop()


@pytest.fixture
def control(link: AmiLink) -> AmiCallControl:
    return AmiCallControl({"pbx1": link})

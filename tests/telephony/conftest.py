"""Fixtures shared by the telephony tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.telephony.fake_ami import FakeAmi


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    """A scripted AMI server with the default answers, listening on a free port."""
    server = FakeAmi()
    await server.start()
    yield server
    await server.close()

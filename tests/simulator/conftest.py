"""A bare AMI client over TCP (no panoramisk) and the capture files, for simulator tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from pbxsim import PbxSimulator
from telephony.ami.capture import read_capture
from telephony.ami.protocol import AmiMessage, FrameParser, encode_action
from tests.fixtures import AMI_TRACES


def capture_messages(name: str) -> list[AmiMessage]:
    """The received AMI messages of a capture (banner excluded), parsed."""
    parser = FrameParser()
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    out: list[AmiMessage] = []
    for item in read_capture(AMI_TRACES / name):
        if item.kind == "rx" and not item.is_banner:
            out.extend(parser.feed(item.data))
    return out


class AmiClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = FrameParser()
        self.pending: list[AmiMessage] = []
        self.raw = bytearray()
        self.greeting: bytes | None = None

    @classmethod
    async def connect(cls, host: str, port: int) -> AmiClient:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def banner(self) -> bytes:
        self.greeting = await asyncio.wait_for(self.reader.readline(), 5)
        return self.greeting

    def send(self, action: str, **fields: str) -> None:
        self.writer.write(encode_action(action, fields))

    async def next(self, wait: float = 5.0) -> AmiMessage:
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), wait)
            if not data:
                raise EOFError("AMI connection closed")
            self.raw += data
            self.pending.extend(self.parser.feed(data))
        return self.pending.pop(0)

    async def until(
        self, match: Callable[[AmiMessage], bool], wait: float = 5.0
    ) -> list[AmiMessage]:
        """Messages up to and including the first that matches."""
        seen: list[AmiMessage] = []
        while True:
            message = await self.next(wait)
            seen.append(message)
            if match(message):
                return seen

    async def ask(self, action: str, action_id: str, **fields: str) -> list[AmiMessage]:
        """Send an action; return what arrived up to and including its response."""
        self.send(action, ActionID=action_id, **fields)
        return await self.until(lambda m: m.action_id == action_id and "Response" in m, wait=10)

    async def login(
        self, username: str = "hotline", secret: str = "hotline", events: str = "on"
    ) -> list[AmiMessage]:
        if self.greeting is None:
            await self.banner()
        self.send("Login", Username=username, Secret=secret, Events=events, ActionID="login-1")
        return await self.until(
            lambda m: m.name == "SuccessfulAuth" or m.get("Response") == "Error"
        )

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


@pytest.fixture
async def lab() -> AsyncIterator[PbxSimulator]:
    sim = PbxSimulator.lab(speed=50.0)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def client(lab: PbxSimulator) -> AsyncIterator[AmiClient]:
    c = await AmiClient.connect(*lab.address)
    await c.login()
    yield c
    await c.close()

"""A scripted AMI peer over real TCP, and a recorder for what a link delivers (test helpers)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from telephony.ami.capture import read_capture
from telephony.ami.link import AmiLink
from telephony.ami.protocol import AmiMessage, FrameParser
from telephony.config import PbxConfig
from tests.fixtures import AMI_TRACES

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
SECRET = "s3cr3t-do-not-log"

Responder = Callable[[AmiMessage], bytes | None]


def reply(action: AmiMessage, *lines: str) -> bytes:
    body = "".join(f"{line}\r\n" for line in lines)
    return f"Response: Success\r\nActionID: {action.action_id}\r\n{body}\r\n".encode()


def error(action: AmiMessage, message: str) -> bytes:
    return f"Response: Error\r\nActionID: {action.action_id}\r\nMessage: {message}\r\n\r\n".encode()


class FakeAmi:
    """A scripted AMI peer over real TCP: logs in, answers Ping, and lets a test push bytes."""

    def __init__(self) -> None:
        self.secret = SECRET
        self.answer_pings = True
        self.responders: dict[str, Responder] = {}
        self.actions: list[AmiMessage] = []
        self.logins = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self, port: int = 0) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.drop()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=5)

    def drop(self) -> None:
        for writer in self.writers:
            writer.close()
        self.writers.clear()

    def push(self, data: bytes) -> None:
        for writer in self.writers:
            writer.write(data)

    def config(self, **overrides: object) -> PbxConfig:
        values: dict[str, object] = {
            "name": "pbx1",
            "host": "127.0.0.1",
            "port": self.port,
            "username": "hotline",
            "secret": SECRET,
            "ping_interval": 0.5,
            "ping_timeout": 1.0,
            "action_timeout": 2.0,
            "reconnect_min": 0.05,
            "reconnect_max": 0.2,
        }
        values.update(overrides)
        return PbxConfig(**values)  # type: ignore[arg-type]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.writers.append(writer)
        parser = FrameParser()
        try:
            writer.write(BANNER)
            while data := await reader.read(65536):
                for action in parser.feed(data):
                    self.actions.append(action)
                    answer = self._answer(action)
                    if answer:
                        writer.write(answer)
                    if action["Action"] == "Login" and action["Secret"] != self.secret:
                        writer.close()
                        return
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._handlers.discard(task)

    def _answer(self, action: AmiMessage) -> bytes | None:
        name = action["Action"]
        if name == "Login":
            if action["Secret"] != self.secret:
                return error(action, "Authentication failed")
            self.logins += 1
            return reply(action, "Message: Authentication accepted") + (
                b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
            )
        if name == "Ping":
            return reply(action, "Ping: Pong") if self.answer_pings else None
        responder = self.responders.get(name)
        return responder(action) if responder else None


class Recorder:
    """The link's consumer side: records what arrives, in order."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.messages: list[AmiMessage] = []

    async def on_message(self, message: AmiMessage) -> None:
        self.messages.append(message)
        self.items.append(message.name or "response")

    async def on_connected(self) -> None:
        self.items.append("connected")

    async def on_disconnected(self, why: str) -> None:
        self.items.append(f"disconnected: {why}")


async def eventually(predicate: Callable[[], bool]) -> None:
    """Poll a condition the link reaches asynchronously; fail after about 5 s."""
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached within 5 s")


def replay_answer(capture: str, action_id: str) -> Callable[[AmiMessage], bytes]:
    """A responder answering with a capture's messages for one of its actions."""
    items = read_capture(AMI_TRACES / capture)
    marker = f"ActionID: {action_id}\r\n".encode()
    answer = b"".join(i.data for i in items if i.kind == "rx" and marker in i.data)
    assert answer, f"{capture} has no answer to {action_id}"

    def respond(action: AmiMessage) -> bytes:
        return answer.replace(marker, f"ActionID: {action.action_id}\r\n".encode())

    return respond


@contextlib.asynccontextmanager
async def running_link(
    ami: FakeAmi, on_message: Callable[[AmiMessage], Awaitable[None]], **overrides: object
) -> AsyncIterator[AmiLink]:
    """A started link to `ami`, logged in, stopped on exit."""
    link = AmiLink(ami.config(**overrides), on_message)
    await link.start()
    try:
        await eventually(lambda: link.up)
        yield link
    finally:
        await link.stop()


def sent(ami: FakeAmi, action: str) -> list[tuple[str, str]]:
    """The fields of the last `action` the PBX received, without its ActionID."""
    last = [a for a in ami.actions if a["Action"] == action][-1]
    return [(k, v) for k, v in last if k != "ActionID"]


async def ignore(message: AmiMessage) -> None:
    """An AmiLink handler for tests that look at what was sent, not at the events."""
    return None

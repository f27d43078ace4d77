"""The FastAGI wire protocol: environment block, commands and replies, read defensively.

Everything here comes from the network, so nothing may raise anything but `AgiHangup` (the
channel is gone or the peer broke the protocol) or `TimeoutError` to the script.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

ENV_LIMIT = 16_384
_REPLY = re.compile(r"^(?P<code>\d{3})(?P<sep>[ -])(?P<rest>.*)$")
_RESULT = re.compile(r"^result=(?P<result>\S*)\s*(?:\((?P<data>[^)]*)\))?(?P<extra>.*)$")


class AgiHangup(Exception):
    """The channel hung up or the connection ended: the script must stop talking."""


@dataclass(frozen=True)
class AgiEnvironment:
    """The `agi_*` block Asterisk sends first, keyed without the `agi_` prefix."""

    values: dict[str, str]

    @property
    def script(self) -> str:
        return self.values.get("network_script", "").strip("/")

    @property
    def args(self) -> tuple[str, ...]:
        found: list[str] = []
        while (value := self.values.get(f"arg_{len(found) + 1}")) is not None:
            found.append(value)
        return tuple(found)

    @property
    def uniqueid(self) -> str:
        return self.values.get("uniqueid", "")


@dataclass(frozen=True)
class AgiReply:
    """One reply: `code` 200 on success, `result` as sent, `data` the parenthesised part."""

    code: int
    result: str
    data: str | None
    text: str

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def timed_out(self) -> bool:
        return self.data == "timeout"


def parse_environment(block: bytes) -> AgiEnvironment:
    """Parse the environment block; lines that are not `agi_key: value` are ignored."""
    values: dict[str, str] = {}
    for raw in block.decode("utf-8", errors="replace").splitlines():
        key, sep, value = raw.partition(":")
        key = key.strip()
        if sep and key.startswith("agi_"):
            values[key[4:]] = value.strip()
    return AgiEnvironment(values)


def parse_reply(line: str) -> AgiReply | None:
    """Parse one reply line; None for a line that is not a final reply (e.g. `520-...`)."""
    match = _REPLY.match(line.strip())
    if match is None or match["sep"] == "-":
        return None
    code = int(match["code"])
    rest = match["rest"].strip()
    result = _RESULT.match(rest)
    if result is None:
        return AgiReply(code=code, result="", data=None, text=rest)
    return AgiReply(code=code, result=result["result"], data=result["data"], text=rest)


class AgiChannel:
    """Sends commands on one FastAGI connection and waits for their replies."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        env: AgiEnvironment,
        command_timeout_s: float,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.env = env
        self._timeout = command_timeout_s
        self.hung_up = False

    async def command(self, text: str) -> AgiReply:
        """Send one command line; raise AgiHangup when the channel is gone."""
        if self.hung_up:
            raise AgiHangup(text)
        line = " ".join(text.replace("\r", " ").replace("\n", " ").split())
        try:
            self._writer.write(line.encode("utf-8") + b"\n")
            await self._writer.drain()
            return await asyncio.wait_for(self._read_reply(), self._timeout)
        except (ConnectionError, ValueError) as exc:
            self.hung_up = True
            raise AgiHangup(text) from exc

    async def _read_reply(self) -> AgiReply:
        while True:
            raw = await self._reader.readline()
            if not raw:
                self.hung_up = True
                raise AgiHangup("connection closed")
            line = raw.decode("utf-8", errors="replace").strip()
            if line == "HANGUP":
                self.hung_up = True
                continue
            reply = parse_reply(line)
            if reply is None:
                continue
            if reply.code == 511:
                self.hung_up = True
                raise AgiHangup(reply.text)
            return reply

"""Asterisk's side of FastAGI: connect to the AGI server, send the environment, run commands.

The survey IVR under test is the FastAGI *server*; this is what a real Asterisk does when
the dialplan reaches `AGI(agi://host:port/survey,<id>)`: LF-terminated lines, one `200
result=...` per command, `HANGUP` and `511` once the customer has hung up.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import shlex
from dataclasses import dataclass

import structlog

from pbxsim.core import Emit
from pbxsim.customer_line import CustomerLine, LineHungUp
from pbxsim.model import Channel, clean
from pbxsim.templates import chan_event, user_event, varset

log = structlog.get_logger()

DEAD = "511 Command Not Permitted on a dead channel or intercepted channel\n"
UNKNOWN_COMMAND = "510 Invalid or unknown command\n"
BAD_SYNTAX = "520 Invalid command syntax.  Proper usage not available.\n"
_VAR = re.compile(r"\$\{([^}]*)\}")


@dataclass
class AgiTarget:
    """Where the dialplan's AGI() points, and the arguments after the URL."""

    host: str
    port: int
    script: str
    args: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"agi://{self.host}:{self.port}/{self.script}"


def environment(target: AgiTarget, ch: Channel, version: str = "22.10.1") -> bytes:
    """The `agi_*` block in the order Asterisk 22 sends it (see agi-survey-session.txt)."""
    pairs = [
        ("agi_network", "yes"),
        ("agi_network_script", target.script),
        ("agi_request", target.url),
        ("agi_channel", ch.name),
        ("agi_language", ch.language),
        ("agi_type", ch.name.split("/", 1)[0]),
        ("agi_uniqueid", ch.uniqueid),
        ("agi_version", version),
        ("agi_callerid", _bare(ch.caller_num)),
        ("agi_calleridname", _bare(ch.caller_name)),
        ("agi_callingpres", "0"),
        ("agi_callingani2", "0"),
        ("agi_callington", "0"),
        ("agi_callingtns", "0"),
        ("agi_dnid", "unknown"),
        ("agi_rdnis", "unknown"),
        ("agi_context", ch.context),
        ("agi_extension", ch.exten),
        ("agi_priority", str(ch.priority)),
        ("agi_enhanced", "0.0"),
        ("agi_accountcode", ch.account_code),
        ("agi_threadid", str(140275115677376 + secrets.randbelow(1 << 20))),
    ]
    pairs += [(f"agi_arg_{i}", arg) for i, arg in enumerate(target.args, start=1)]
    text = "".join(f"{key}: {clean(value)}\n" for key, value in pairs) + "\n"
    return text.encode("utf-8")


def _bare(value: str) -> str:
    return "unknown" if value == "<unknown>" else value


class AgiCommands:
    """What each AGI command does to the channel and the customer's phone."""

    def __init__(self, ch: Channel, line: CustomerLine, emit: Emit, prompt_seconds: float) -> None:
        self.ch = ch
        self.line = line
        self.emit = emit
        self.prompt_seconds = prompt_seconds
        self.commands: list[str] = []
        self.hangup_requested = False

    async def execute(self, text: str) -> tuple[str, bool]:
        """Return (reply line, whether Asterisk closes the session after it)."""
        self.commands.append(text)
        try:
            words = shlex.split(text)
        except ValueError:
            return BAD_SYNTAX, False
        if not words:
            return UNKNOWN_COMMAND, False
        command_id = str(secrets.randbelow(2**31))
        self.emit(
            chan_event(
                "AGIExecStart",
                self.ch,
                ("CommandId", command_id),
                ("Command", text),
                privilege="agi,all",
            )
        )
        try:
            reply, close = await self._run(words)
        except LineHungUp:
            reply, close = "200 result=-1\n", False
        code = reply.split(" ", 1)[0]
        self.emit(
            chan_event(
                "AGIExecEnd",
                self.ch,
                ("CommandId", command_id),
                ("Command", text),
                ("ResultCode", code),
                ("Result", "Success" if code == "200" else reply[4:].strip()),
                privilege="agi,all",
            )
        )
        return reply, close

    async def _run(self, args: list[str]) -> tuple[str, bool]:
        """Dispatch on the command's leading words, the way res_agi matches them."""
        words = [w.upper() for w in args[:3]]
        one, two = words[0], " ".join(words[:2])
        if " ".join(words) == "GET FULL VARIABLE" and len(args) >= 4:
            return self._result(1, self._expand(args[3])), False
        if one in ("ANSWER", "NOOP"):
            return "200 result=0\n", False
        if one == "HANGUP" or (one == "EXEC" and words[1:2] == ["HANGUP"]):
            self.hangup_requested = True
            return ("200 result=1\n" if one == "HANGUP" else "200 result=-1\n"), True
        if one == "VERBOSE":
            return "200 result=1\n", False
        if two == "CHANNEL STATUS":
            return "200 result=6\n", False
        if two == "GET VARIABLE" and len(args) >= 3:
            value = self.ch.variables.get(args[2])
            return (self._result(1, value) if value is not None else "200 result=0\n"), False
        if two == "SET VARIABLE" and len(args) >= 4:
            self.ch.variables[args[2]] = args[3]
            self.emit(varset(self.ch, args[2], args[3]))
            return "200 result=1\n", False
        if " ".join(words) == "WAIT FOR DIGIT" and len(args) >= 4:
            digit = await self.line.next_digit(self._seconds(args[3], default=30.0))
            return f"200 result={ord(digit) if digit else 0}\n", False
        if two == "STREAM FILE" and len(args) >= 3:
            escape = args[3] if len(args) >= 4 else ""
            digit = await self.line.play(args[2], self.prompt_seconds, escape)
            return f"200 result={ord(digit) if digit else 0} endpos=8000\n", False
        if two == "GET DATA" and len(args) >= 3:
            return await self._get_data(args), False
        if one == "SAY" and len(args) >= 3:
            await self.line.play(f"{args[1].lower()}:{args[2]}", self.prompt_seconds)
            return "200 result=0\n", False
        if one == "EXEC" and len(args) >= 2:
            return await self._exec(args[1], " ".join(args[2:])), False
        return UNKNOWN_COMMAND, False

    async def _get_data(self, args: list[str]) -> str:
        timeout = self._seconds(args[3], default=6.0) if len(args) >= 4 else 6.0
        max_digits = int(args[4]) if len(args) >= 5 and args[4].isdigit() else 1024
        first = await self.line.play(args[2], self.prompt_seconds, "0123456789*#")
        digits = "" if first is None else first
        while len(digits) < max_digits and not digits.endswith("#"):
            digit = await self.line.next_digit(timeout)
            if digit is None:
                return f"200 result={digits} (timeout)\n"
            digits += digit
        return f"200 result={digits.rstrip('#')}\n"

    async def _exec(self, app: str, data: str) -> str:
        name = app.lower()
        if name == "playback":
            for prompt in data.split("&"):
                await self.line.play(prompt.split(",")[0], self.prompt_seconds)
            return "200 result=0\n"
        if name == "userevent":
            self.emit(user_event(self.ch, data))
        return "200 result=0\n"

    def _expand(self, expression: str) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            builtins = {
                "CALLERID(num)": self.ch.caller_num,
                "CALLERID(name)": self.ch.caller_name,
                "UNIQUEID": self.ch.uniqueid,
                "CHANNEL": self.ch.name,
                "CHANNEL(linkedid)": self.ch.linkedid,
            }
            return builtins.get(name, self.ch.variables.get(name, ""))

        return _VAR.sub(one, expression)

    @staticmethod
    def _result(code: int, value: str) -> str:
        return f"200 result={code} ({clean(value)})\n"

    @staticmethod
    def _seconds(ms: str, default: float) -> float:
        try:
            value = int(ms)
        except ValueError:
            return default
        return default if value < 0 else value / 1000


async def run_agi(
    target: AgiTarget,
    commands: AgiCommands,
    *,
    connect_timeout: float = 5.0,
    idle_timeout: float = 30.0,
) -> str:
    """Run one FastAGI session; return the AGISTATUS the dialplan would see."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(target.host, target.port), connect_timeout
        )
    except (OSError, TimeoutError) as exc:
        log.warning("sim_agi_connect_failed", url=target.url, error=str(exc))
        return "FAILURE"
    line = commands.line
    dead = False
    try:
        writer.write(environment(target, commands.ch))
        hung = asyncio.ensure_future(line.hungup.wait())
        try:
            while True:
                read = asyncio.ensure_future(asyncio.wait_for(reader.readline(), idle_timeout))
                if not dead:
                    await asyncio.wait({read, hung}, return_when=asyncio.FIRST_COMPLETED)
                    if hung.done() and not read.done():
                        dead = True
                        writer.write(b"HANGUP\n")
                try:
                    raw = await read
                except (TimeoutError, ConnectionError):
                    break
                if not raw:
                    break
                text = raw.decode("utf-8", "replace").strip()
                if not text:
                    continue
                if dead:
                    writer.write(DEAD.encode())
                    continue
                reply, close = await commands.execute(text)
                writer.write(reply.encode("utf-8"))
                if line.hungup.is_set():
                    dead = True
                    writer.write(b"HANGUP\n")
                if close:
                    break
                await writer.drain()
        finally:
            hung.cancel()
            await asyncio.gather(hung, return_exceptions=True)
    except ConnectionError as exc:
        log.info("sim_agi_connection_lost", url=target.url, error=str(exc))
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return "HANGUP" if line.hungup.is_set() else "SUCCESS"

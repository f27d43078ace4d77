"""A test stand-in for Asterisk's side of FastAGI: sends the environment, answers commands."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

Answer = Callable[[str], str | None]


def environment(script: str, *args: str, uniqueid: str = "1795236782.27") -> bytes:
    lines = [
        "agi_network: yes",
        f"agi_network_script: {script}",
        f"agi_request: agi://127.0.0.1:4573/{script}",
        "agi_channel: PJSIP/customer-phone-0000001b",
        "agi_language: en",
        f"agi_uniqueid: {uniqueid}",
        "agi_callerid: 1169",
        "agi_context: survey",
        "agi_extension: s",
        "agi_priority: 3",
        "agi_enhanced: 0.0",
        "agi_accountcode: ",
    ]
    lines += [f"agi_arg_{n}: {value}" for n, value in enumerate(args, start=1)]
    return ("\n".join(lines) + "\n\n").encode()


def keypad(*digits: str) -> Answer:
    """A phone that answers each GET DATA with the next digit ('' = silence)."""
    pending = list(digits)

    def answer(command: str) -> str | None:
        if command.startswith("GET DATA"):
            if not pending:
                return "200 result= (timeout)"
            digit = pending.pop(0)
            return f"200 result={digit}" if digit else "200 result= (timeout)"
        if command.startswith("STREAM FILE"):
            return "200 result=0 endpos=8000"
        if command == "HANGUP":
            return "200 result=1"
        return "200 result=1" if command.startswith("SET") else "200 result=0"

    return answer


async def run_session(
    port: int, env: bytes, answer: Answer, *, source: str = "127.0.0.1"
) -> list[str]:
    """Play one FastAGI session from the address `source`; returns the commands the server
    sent, in order."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    commands: list[str] = []
    try:
        writer.write(env)
        await writer.drain()
        while True:
            try:
                line = await reader.readline()
            except ConnectionResetError:
                break  # a refused peer: closed with the environment unread
            if not line:
                break
            command = line.decode().rstrip("\n")
            commands.append(command)
            reply = answer(command)
            if reply is None:
                break
            writer.write(reply.encode() + b"\n")
            await writer.drain()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionResetError):
            await writer.wait_closed()
    return commands

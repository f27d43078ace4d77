"""`hotline` run as a person runs it: a child process with its own environment, read until
it says it is ready, then stopped with SIGTERM as a service manager would."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any hotline setting, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.pop("DATABASE_URL", None)
    env.update(settings)
    return env


@dataclass
class Output:
    """What the process printed so far (stdout and stderr together)."""

    text: str = ""


@asynccontextmanager
async def hotline(
    command: str, env: dict[str, str], *, ready: str, timeout_s: float = 90
) -> AsyncIterator[Output]:
    """Run `hotline <command>` until it prints `ready`; on leaving, SIGTERM it and require a
    clean exit. The output keeps growing to the end."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotline.cli",
        command,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = Output()
    try:
        async with asyncio.timeout(timeout_s):
            while ready not in output.text:
                line = await process.stdout.readline()
                assert line, f"hotline {command} stopped early:\n{output.text}"
                output.text += line.decode()
        yield output
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            rest, _ = await process.communicate()
        output.text += rest.decode()
    assert process.returncode == 0, output.text

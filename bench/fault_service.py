"""A real `hotline serve` child process, configured through its environment, that a
scenario kills (SIGKILL: nothing flushed, nothing said goodbye) or stops (SIGTERM) and
starts again on the same database."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

READY = b"hotline is listening on"


def environment(settings: dict[str, Any], data_dir: Path, web_port: int) -> dict[str, str]:
    """This process's environment without its own hotline settings, plus the lab's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.pop("DATABASE_URL", None)
    values = {**settings, "data_dir": str(data_dir), "web_port": web_port}
    values.setdefault("log_level", "warning")
    for name, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value)
        env[f"HOTLINE_{name.upper()}"] = text
    return env


class HotlineProcess:
    """One `hotline serve` at a time; its output goes to `log_file` (appended)."""

    def __init__(self, env: dict[str, str], log_file: Path) -> None:
        self._env = env
        self._log_file = log_file
        self._process: asyncio.subprocess.Process | None = None
        self._drainer: asyncio.Task[None] | None = None
        self.starts = 0

    async def start(self, timeout_s: float = 60.0) -> None:
        """Start it and wait until it says it listens."""
        with self._log_file.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "hotline.cli", "serve",
                env=self._env, stdout=asyncio.subprocess.PIPE, stderr=log,
            )  # fmt: skip
        assert self._process.stdout is not None
        self.starts += 1
        async with asyncio.timeout(timeout_s):
            while True:
                line = await self._process.stdout.readline()
                if not line:
                    raise RuntimeError(f"hotline serve stopped at start; see {self._log_file}")
                if READY in line:
                    break
        # Keep reading so that a chatty child never blocks on a full pipe.
        self._drainer = asyncio.get_running_loop().create_task(self._drain(self._process))

    async def _drain(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        with self._log_file.open("ab") as log:
            while line := await process.stdout.readline():
                log.write(line)

    async def stop(self, how: signal.Signals) -> int:
        """Send `how` and wait for the process to end; its exit status."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return process.returncode if process is not None else 0
        process.send_signal(how)
        async with asyncio.timeout(60):
            status = await process.wait()
            if self._drainer is not None:
                await self._drainer
        return status

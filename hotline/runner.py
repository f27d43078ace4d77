"""Running the service in the foreground until it is told to stop.

Shared by `hotline serve` and the demo, so both start, report the address and stop the same
way.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web

from config.settings import Settings
from hotline.app import create_app


class CommandError(Exception):
    """A failure to report to the person at the terminal as one line."""


async def run_until_stopped(
    settings: Settings,
    on_started: Callable[[web.Application], Awaitable[None]] | None = None,
) -> None:
    """Run the service until SIGTERM or SIGINT, then stop every part in reverse order."""
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    try:
        await runner.setup()
        site = web.TCPSite(runner, settings.web_host, settings.web_port)
        try:
            await site.start()
        except OSError as exc:
            raise CommandError(
                f"invalid setting web_port (HOTLINE_WEB_PORT): cannot listen on "
                f"{settings.web_host}:{settings.web_port}: {exc.strerror or exc}"
            ) from exc
        print(
            f"hotline is listening on http://{settings.web_host}:{settings.web_port}/", flush=True
        )
        if on_started is not None:
            await on_started(app)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()

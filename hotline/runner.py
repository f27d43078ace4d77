"""Running the service in the foreground until it is told to stop.

Shared by `hotline serve` and the demo, so both start, report the address and stop the same
way.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from config.settings import Settings
from hotline.app import create_app

log = structlog.get_logger()


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class CommandError(Exception):
    """A failure to report to the person at the terminal as one line."""


async def run_until_stopped(
    settings: Settings,
    on_started: Callable[[web.Application], Awaitable[None]] | None = None,
    extend: Callable[[web.Application], None] | None = None,
) -> None:
    """Run the service until SIGTERM or SIGINT, then stop every part in reverse order.

    The signals are caught before anything starts, so a stop asked for while the service is
    still starting is a clean stop once it has started, never a kill halfway. `extend` adds
    to the app before it starts (the demo's own pages)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = create_app(settings)
    if extend is not None:
        extend(app)
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
        https_known = settings.secure_cookies or settings.security.trusted_proxies
        if not https_known and not _loopback(settings.web_host):
            log.warning(
                "session_cookies_not_secure",
                web_host=settings.web_host,
                why="serving beyond this machine: put HTTPS in front and set secure_cookies"
                " or security.trusted_proxies",
            )
        if on_started is not None:
            await on_started(app)
        await stop.wait()
    finally:
        await runner.cleanup()

"""Simulated agents working a shift in the demo, through the service's own web paths.

Each one logs in over HTTP like a browser (which signs them in to the queues, paused), goes
Ready, lets their phone take the calls the PBX simulator offers, ends each wrap-up with a
wrap-up code, takes a coded pause now and then, and signs out at the end of their shift
before coming back for the next. Nothing here touches the simulator's state: the PBX learns
everything from the service's own QueueAdd, QueuePause and QueueRemove.
"""

from __future__ import annotations

import asyncio
import random
import re
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog

log = structlog.get_logger()

_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


@dataclass(frozen=True)
class ShiftPlan:
    """Seconds of real time; the demo wants a whole shift to pass in a few minutes."""

    shift_s: float = 240.0
    off_s: float = 40.0
    wrapup_min_s: float = 3.0
    wrapup_max_s: float = 12.0
    pause_chance: float = 0.25
    pause_s: float = 20.0


class SimulatedAgent:
    """One demo agent at their desk, driven through the panel's HTTP actions."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        pause_codes: list[str],
        wrapup_codes: list[str],
        plan: ShiftPlan,
        seed: int,
    ) -> None:
        self._base_url = base_url
        self._username = username
        self._password = password
        self._pause_codes = pause_codes
        self._wrapup_codes = wrapup_codes
        self._plan = plan
        self._rng = random.Random(seed)

    async def run(self) -> None:
        """Shift after shift until cancelled; a failed step starts the next shift."""
        while True:
            try:
                await self._shift()
            except (aiohttp.ClientError, KeyError, ValueError) as exc:
                log.warning("demo_agent_step_failed", agent=self._username, error=str(exc))
            await asyncio.sleep(self._plan.off_s)

    async def _shift(self) -> None:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(self._base_url, cookie_jar=jar) as browser:
            csrf = await self._log_in(browser)
            log.info("demo_agent_signed_in", agent=self._username)
            await self._post(browser, csrf, "/panel/availability", availability="ready")
            loop = asyncio.get_running_loop()
            ends = loop.time() + self._plan.shift_s
            while loop.time() < ends:
                await asyncio.sleep(1.0)
                await self._tend(browser, csrf)
            await self._post(browser, csrf, "/logout")
            log.info("demo_agent_signed_out", agent=self._username)

    async def _log_in(self, browser: aiohttp.ClientSession) -> str:
        page = await (await browser.get("/login")).text()
        form = {"username": self._username, "password": self._password}
        response = await browser.post("/login", data={**form, "csrf_token": _token(page)})
        response.raise_for_status()
        return _token(await response.text())

    async def _tend(self, browser: aiohttp.ClientSession, csrf: str) -> None:
        """What a person does at the desk: finish wrap-up, sometimes take a break."""
        desk = (await (await browser.get("/panel/state")).json())["desk"]
        call = desk.get("call")
        if call is None or call["status"] != "wrapup":
            return
        await asyncio.sleep(self._rng.uniform(self._plan.wrapup_min_s, self._plan.wrapup_max_s))
        code = self._rng.choice(self._wrapup_codes)
        await self._post(browser, csrf, "/panel/wrapup/end", code=code)
        if self._rng.random() < self._plan.pause_chance:
            reason = self._rng.choice(self._pause_codes)
            await self._post(
                browser, csrf, "/panel/availability", availability="paused", reason=reason
            )
            await asyncio.sleep(self._plan.pause_s)
            await self._post(browser, csrf, "/panel/availability", availability="ready")

    async def _post(
        self, browser: aiohttp.ClientSession, csrf: str, path: str, **data: Any
    ) -> None:
        headers = {"X-CSRF-Token": csrf, "Accept": "application/json"}
        async with browser.post(path, data=data, headers=headers) as response:
            if response.status >= 400:
                log.info(
                    "demo_agent_refused", agent=self._username, path=path, status=response.status
                )


def _token(page: str) -> str:
    found = _CSRF.search(page)
    if found is None:
        raise ValueError("no CSRF token on the page")
    return found.group(1)

"""Waiting in tests for something the system reaches asynchronously."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def until(condition: Callable[[], object], *, within: float) -> float:
    """Seconds until `condition()` holds; fails when it does not within `within` seconds."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not condition():
        if loop.time() - start > within:
            raise AssertionError(f"not reached within {within} s")
        await asyncio.sleep(0.02)
    return loop.time() - start


async def until_true(check: Callable[[], Awaitable[T]], *, within: float) -> T:
    """The first true result of the coroutine function `check`, polled for `within` s."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not (result := await check()):
        if loop.time() - start > within:
            raise AssertionError(f"not reached within {within} s (last: {result!r})")
        await asyncio.sleep(0.05)
    return result

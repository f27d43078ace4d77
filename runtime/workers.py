"""Where CPU-bound work runs so the event loop never waits for it: a few threads for password
hashing and a process for building exports, both at a lower CPU priority than the loop.

A hash takes ~0.1 s of C code that releases the GIL, so a thread is enough, and a small
dedicated pool bounds how many run at once: a flood of logins queues here instead of taking
every thread of the loop's default executor. openpyxl is pure Python and holds the GIL, so
a workbook built in a thread would still take turns with the loop: it gets a process of its
own, started with `spawn` (no forked copy of the service's threads and locks).

Off the GIL, the work still wants the CPU the loop needs (argon2 alone keeps ~1.5 cores busy
with its lane threads), so both run niced: when the loop wakes, it wins the core.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")
HASHING_THREADS = 2
EXPORT_PROCESSES = 1
#: How much lower than the loop's the workers' CPU priority is (a nice increment).
NICENESS = 10


@dataclass(frozen=True)
class Workers:
    """The pools, made once per service and shut down when it stops."""

    hashing: ThreadPoolExecutor
    exports: ProcessPoolExecutor

    @classmethod
    def start(
        cls, hashing_threads: int = HASHING_THREADS, export_processes: int = EXPORT_PROCESSES
    ) -> Workers:
        """The pools; the export process itself starts with the first export."""
        return cls(
            hashing=ThreadPoolExecutor(
                hashing_threads, thread_name_prefix="hotline-hash", initializer=_nice_thread
            ),
            exports=ProcessPoolExecutor(
                export_processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=os.nice,
                initargs=(NICENESS,),
            ),
        )

    async def export(self, build: Callable[..., T], *args: Any) -> T:
        """`build(*args)` in the export process; arguments and result travel pickled."""
        return await asyncio.get_running_loop().run_in_executor(self.exports, build, *args)

    def shutdown(self) -> None:
        """Drop queued work and wait for what is running (blocks: call it off the loop)."""
        self.hashing.shutdown(wait=True, cancel_futures=True)
        self.exports.shutdown(wait=True, cancel_futures=True)


def _nice_thread() -> None:
    """Lower the calling thread's priority. On Linux the nice value belongs to each thread
    (and the threads argon2 starts for its lanes inherit it); elsewhere nice(2) would lower
    the whole service, loop included, so there the thread keeps its priority."""
    if sys.platform == "linux":
        os.nice(NICENESS)


def workers_ctx(
    key: web.AppKey[Workers],
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx putting the service's Workers under `key` (the key lives with the other
    application keys in web.keys, a layer above this one)."""

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        workers = Workers.start()
        app[key] = workers
        try:
            yield
        finally:
            await asyncio.to_thread(workers.shutdown)

    return lifetime

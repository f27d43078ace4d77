"""The simulator's queue_log: the rows app_queue would store through res_config_pgsql.

Every milestone the simulator plays (ENTERQUEUE, CONNECT, COMPLETECALLER, ...) is written
here with the fields app_queue.c passes to `ast_queue_log`, joined by `|` and split into
data1..data5 as logger.c does with `queue_adaptive_realtime = yes` (the fifth keeps the
rest unsplit). The rows are always kept in memory, the simulator's own record of what it
did; given a database URL they are also inserted, in order, into the same table Asterisk
writes. Like Asterisk, a row the database refuses is lost (and logged), never retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog

from pbxsim.clock import SimClock

log = structlog.get_logger()

DEFAULT_TABLE = "asterisk.queue_log"
_TABLE_NAME = re.compile(r"^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$")
_COLUMNS = "time, callid, queuename, agent, event, data1, data2, data3, data4, data5"


@dataclass(frozen=True)
class QueueLogRow:
    time: datetime  # UTC without an offset, as `queue_log_realtime_use_gmt = yes` writes it
    callid: str
    queuename: str
    agent: str
    event: str
    data: tuple[str, str, str, str, str]


def split_data(*fields: object) -> tuple[str, str, str, str, str]:
    """logger.c's adaptive split of the `|`-joined parameters into five columns."""
    parts = "|".join(str(f) for f in fields).split("|", 4) if fields else []
    parts += [""] * (5 - len(parts))
    return (parts[0], parts[1], parts[2], parts[3], parts[4])


class QueueLog:
    """app_queue's queue_log: kept in `rows`, and inserted into `table` when given a URL."""

    def __init__(self, clock: SimClock, url: str | None = None, table: str = DEFAULT_TABLE) -> None:
        if not _TABLE_NAME.match(table):
            raise ValueError(f"not a table name: {table!r}")
        self.clock = clock
        self.url = url
        self.table = table
        self.rows: list[QueueLogRow] = []
        self._pending: asyncio.Queue[QueueLogRow] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._halted = False

    def halt(self) -> None:
        """The PBX process died: nothing it would log reaches the table until `boot()`."""
        self._halted = True

    def boot(self) -> None:
        """Asterisk started again: logger.c writes QUEUESTART (NONE, NONE, NONE, data
        empty) once the queue log is set up, before any other row."""
        self._halted = False
        self.write("NONE", "NONE", "NONE", "QUEUESTART", "")

    def write(self, queue: str, callid: str, agent: str, event: str, *data: object) -> None:
        if self._halted:
            return
        now = datetime.fromtimestamp(self.clock.now(), UTC).replace(tzinfo=None)
        row = QueueLogRow(now, callid, queue, agent, event, split_data(*data))
        self.rows.append(row)
        if self.url is not None:
            self._pending.put_nowait(row)

    def of_call(self, callid: str) -> list[QueueLogRow]:
        return [r for r in self.rows if r.callid == callid]

    async def start(self) -> None:
        if self.url is not None and self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._insert_all(self.url))

    async def flush(self) -> None:
        """Wait until every row written so far has been offered to the database."""
        if self._writer is not None:
            await self._pending.join()

    async def stop(self) -> None:
        if self._writer is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flush(), 5.0)
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)
        self._writer = None

    async def _insert_all(self, url: str) -> None:
        values = ", ".join(f"${i}" for i in range(1, 11))
        insert = f"INSERT INTO {self.table} ({_COLUMNS}) VALUES ({values})"
        conn: asyncpg.Connection | None = None
        try:
            while True:
                row = await self._pending.get()
                try:
                    if conn is None or conn.is_closed():
                        conn = await asyncpg.connect(url)
                    await conn.execute(
                        insert, row.time, row.callid, row.queuename, row.agent, row.event, *row.data
                    )
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("sim_queue_log_row_lost", queue_event=row.event, reason=str(exc))
                finally:
                    self._pending.task_done()
        finally:
            if conn is not None:
                await conn.close()

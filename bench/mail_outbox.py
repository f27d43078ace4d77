"""The e-mail outbox end to end on a fresh embedded PostgreSQL and a local SMTP server.

Run: `.venv/bin/python -m bench.mail_outbox [--mails 1000] [--dispatchers 3]`

Prints: mails enqueued per second (each with a 20 kB attachment, one transaction each);
mails sent per second by several dispatchers racing on one outbox to an aiosmtpd catcher in
the same process (one SMTP session per mail), and how many arrived twice (must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections import Counter
from datetime import UTC, datetime

import structlog

from bench.database import fresh_database
from database.pool import Database
from demo.mail_catcher import MailCatcher
from mail.dispatcher import MailDispatcher
from mail.outbox import MailOutbox, OutgoingMail
from mail.settings import MailSettings
from mail.smtp import SmtpSender
from runtime.clock import ManualClock

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
FORM = b"%PDF-1.4 " + bytes(20_000)


async def run(db: Database, mails: int, dispatchers: int) -> None:
    outbox = MailOutbox(db.pool, ManualClock(START))
    began = time.perf_counter()
    for n in range(mails):
        await outbox.enqueue(
            OutgoingMail(
                f"caller{n}@example.org",
                f"เอกสาร {n}",
                "แนบแบบฟอร์มมาให้แล้ว",
                attachments=[("form.pdf", "application/pdf", FORM)],
            )
        )
    took = time.perf_counter() - began
    print(f"enqueue: {mails} mails in {took:.2f} s = {mails / took:.0f}/s")

    catcher = MailCatcher()
    _, port = await catcher.start()
    settings = MailSettings(smtp_host="127.0.0.1", smtp_port=port, security="none", batch=20)
    racing = [
        MailDispatcher(outbox, SmtpSender(settings), settings.batch, settings.interval_s)
        for _ in range(dispatchers)
    ]
    try:
        began = time.perf_counter()
        passes = await asyncio.gather(*(d.run_once(START) for d in racing))
        took = time.perf_counter() - began
    finally:
        await catcher.stop()
    arrived = Counter(mail.subject for mail in catcher.caught)
    twice = sum(1 for count in arrived.values() if count > 1)
    split = "/".join(str(p.sent) for p in passes)
    print(
        f"send: {len(catcher.caught)} mails by {dispatchers} dispatchers in {took:.2f} s"
        f" = {len(catcher.caught) / took:.0f}/s; split {split}; arrived twice: {twice}"
    )


async def main_async(mails: int, dispatchers: int) -> None:
    async with fresh_database("hotline-bench-mail-") as db:
        await run(db, mails, dispatchers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--dispatchers", type=int, default=3)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main_async(args.mails, args.dispatchers))


if __name__ == "__main__":
    main()

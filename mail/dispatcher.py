"""The dispatcher: claims due mails from the outbox, sends each, marks what happened.

Several dispatchers (several hotline instances) may run at once; the outbox's claim keeps
each mail to one of them. A failure never stops the pass: it is kept on the mail, which is
retried after its backoff or given up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog

from mail.outbox import ClaimedMail, MailOutbox, MailStatus, SendFailed
from runtime.clock import Clock
from runtime.jobs import run_every

log = structlog.get_logger()


class Sender(Protocol):
    async def send(self, mail: ClaimedMail) -> str: ...


@dataclass
class PassResult:
    sent: int = 0
    failed: int = 0
    given_up: int = 0


class MailDispatcher:
    def __init__(self, outbox: MailOutbox, sender: Sender, batch: int, interval_s: float) -> None:
        self.outbox = outbox
        self.sender = sender
        self.batch = batch
        self.interval_s = interval_s

    async def run_forever(self, clock: Clock) -> None:
        await run_every(self.run_once, clock, self.interval_s, failed="mail_pass_failed")

    async def run_once(self, now: datetime) -> PassResult:
        """Send every mail due at `now`, a batch at a time."""
        result = PassResult()
        while claimed := await self.outbox.claim(now, self.batch):
            for mail in claimed:
                await self._deliver(mail, now, result)
            if len(claimed) < self.batch:
                break
        return result

    async def _deliver(self, mail: ClaimedMail, now: datetime, result: PassResult) -> None:
        try:
            message_id = await self.sender.send(mail)
        except SendFailed as exc:
            status = await self.outbox.mark_failed(mail, now, exc.reason, permanent=exc.permanent)
            if status is MailStatus.GIVEN_UP:
                result.given_up += 1
                log.warning("mail_given_up", mail_id=mail.id, reason=exc.reason)
            else:
                result.failed += 1
                log.info("mail_failed", mail_id=mail.id, attempt=mail.attempts, reason=exc.reason)
            return
        await self.outbox.mark_sent(mail.id, now, message_id)
        result.sent += 1

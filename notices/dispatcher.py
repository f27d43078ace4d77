"""The notices job: plans a notice for each case event the caller is to hear about, then
delivers the due ones by the caller's channel: e-mail (through the mail outbox, in the
transaction that marks the notice), SMS or LINE. When the notice of a resolution is out,
the case moves to `notified` (ISO 10002's "caller notified"), by the system."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog

from cases.errors import CaseError
from cases.lifecycle import Action, Move, Role, Status
from cases.models import Actor
from cases.repository import CaseRepository
from mail.outbox import MailOutbox, OutgoingMail, SendFailed
from mail.templates import MailTemplates, RenderedMail
from notices.line import LinePush
from notices.settings import NoticeSettings
from notices.sms import SmsGateway
from notices.store import CaseFacts, ClaimedNotice, NoticeStore
from runtime.clock import Clock
from runtime.jobs import run_every

log = structlog.get_logger()

NOTICE_TEMPLATES = Path(__file__).parent / "templates"
# The system acting on a case (no user), as the escalation job does.
SYSTEM = Actor(user_id=None, role=Role.SUPERVISOR)

STEP_LABELS = {
    "th": {
        Status.RECEIVED: "ได้รับเรื่องแล้ว",
        Status.ACKNOWLEDGED: "รับเรื่องไว้ดำเนินการแล้ว",
        Status.ASSESSED: "ได้รับการพิจารณาแล้ว",
        Status.FORWARDED: "ส่งต่อให้หน่วยงานที่รับผิดชอบแล้ว",
        Status.IN_PROGRESS: "อยู่ระหว่างดำเนินการ",
        Status.RESOLVED: "ดำเนินการแก้ไขเรียบร้อยแล้ว",
        Status.CLOSED: "ปิดเรื่องแล้ว",
    },
    "en": {
        Status.RECEIVED: "has been received",
        Status.ACKNOWLEDGED: "has been acknowledged",
        Status.ASSESSED: "has been assessed",
        Status.FORWARDED: "has been forwarded to the responsible unit",
        Status.IN_PROGRESS: "is in progress",
        Status.RESOLVED: "has been resolved",
        Status.CLOSED: "has been closed",
    },
}


@dataclass
class NoticePass:
    planned: int = 0
    sent: int = 0
    failed: int = 0
    given_up: int = 0


class NoticeDispatcher:
    def __init__(
        self,
        settings: NoticeSettings,
        store: NoticeStore,
        outbox: MailOutbox,
        cases: CaseRepository,
        sms: SmsGateway,
        line: LinePush,
    ) -> None:
        self.settings = settings
        self.store = store
        self._outbox = outbox
        self._cases = cases
        self.sms = sms
        self.line = line
        self._templates = MailTemplates(NOTICE_TEMPLATES)

    async def run_forever(self, clock: Clock) -> None:
        await run_every(self.run_once, clock, self.settings.interval_s, failed="notice_failed")

    async def run_once(self, now: datetime) -> NoticePass:
        result = NoticePass()
        result.planned = await self.store.plan(now, self.settings.steps, self.settings.language)
        while claimed := await self.store.claim(now, self.settings.batch):
            for notice, facts in claimed:
                await self._deliver(notice, facts, now, result)
            if len(claimed) < self.settings.batch:
                break
        return result

    def message(self, notice: ClaimedNotice, facts: CaseFacts) -> RenderedMail:
        context = {
            "agency": self.settings.agency,
            "hotline": self.settings.hotline,
            "reference": facts.reference,
            "topic": facts.topic,
            "step_label": STEP_LABELS[notice.lang][notice.step],
            "decision": facts.decision if notice.step is Status.RESOLVED else None,
        }
        return self._templates.render("case_notice", notice.lang, context)

    async def _deliver(
        self, notice: ClaimedNotice, facts: CaseFacts, now: datetime, result: NoticePass
    ) -> None:
        message = self.message(notice, facts)
        try:
            if notice.channel == "email":
                await self._hand_to_outbox(notice, facts, message, now)
            elif notice.channel == "sms":
                if not facts.phone:
                    raise SendFailed("no telephone number on the case", permanent=True)
                sent_id = await self.sms.send(facts.phone, message.text, str(notice.id))
                await self.store.mark_sent(notice, now, sent_id)
            else:
                if not facts.line_user_id:
                    raise SendFailed("the caller has not linked LINE yet", permanent=False)
                sent_id = await self.line.push(facts.line_user_id, message.text, notice.retry_key)
                await self.store.mark_sent(notice, now, sent_id)
        except SendFailed as exc:
            status = await self.store.mark_failed(notice, now, exc.reason, permanent=exc.permanent)
            result.given_up += status == "given_up"
            result.failed += status == "failed"
            log.info("notice_failed", notice_id=notice.id, status=status, reason=exc.reason)
            return
        result.sent += 1
        if notice.step is Status.RESOLVED and facts.status is Status.RESOLVED:
            await self._mark_notified(notice, now)

    async def _hand_to_outbox(
        self, notice: ClaimedNotice, facts: CaseFacts, message: RenderedMail, now: datetime
    ) -> None:
        if not facts.email:
            raise SendFailed("no e-mail address on the case", permanent=True)
        mail = OutgoingMail(
            to=facts.email,
            subject=message.subject,
            text=message.text,
            html=message.html,
            case_id=facts.case_id,
            caller_number=facts.caller_number,
            kind="notice",
        )
        async with self.store.pool.acquire() as conn, conn.transaction():
            mail_id = await self._outbox.enqueue(mail, conn)
            await self.store.mark_sent(notice, now, "", mail_id=mail_id, conn=conn)

    async def _mark_notified(self, notice: ClaimedNotice, now: datetime) -> None:
        move = Move(Action.NOTIFY, note=f"notice {notice.id} ({notice.channel})")
        try:
            await self._cases.transition(notice.case_id, move, actor=SYSTEM, now=now)
        except CaseError as exc:
            log.info("notice_case_not_moved", case_id=notice.case_id, reason=str(exc))

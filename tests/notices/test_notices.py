"""Callers are told when their case is resolved (and at the other configured steps), by the
channel they chose at intake: LINE (after linking through the signed webhook), SMS or
e-mail; failures are retried, given up when hopeless, and every notice is in the case's
history. LINE and the SMS gateway are local servers speaking their documented APIs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from cases.lifecycle import Action, Move, Status
from cases.repository import CaseRepository
from database.pool import Database
from mail.outbox import MailOutbox
from notices.dispatcher import NoticeDispatcher
from notices.line import LinePush
from notices.line_webhook import link_requests, verify
from notices.settings import NoticeSettings
from notices.sms import SmsGateway
from notices.store import NoticeStore
from runtime.clock import ManualClock
from tests.cases.factories import NOW, People, complaint_form, forward
from tests.notices.gateways import LINE_TOKEN, SMS_TOKEN, Gateway, line_app, serving, sms_app

CHANNEL_SECRET = "line-channel-secret"
CITIZEN = "U4af4980629aaaaaaaaaaaaaaaaaaaaaa"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def notices_for(
    db: Database,
    repo: CaseRepository,
    http: aiohttp.ClientSession,
    *,
    line: Gateway | None = None,
    sms: Gateway | None = None,
    **overrides: object,
) -> tuple[NoticeDispatcher, NoticeStore]:
    settings = NoticeSettings.model_validate(
        {
            "first_retry_s": 60,
            "max_retry_s": 600,
            "line": {
                "api_base": line.url if line else "http://127.0.0.1:9",
                "channel_access_token": LINE_TOKEN,
                "channel_secret": CHANNEL_SECRET,
            },
            "sms": {"url": sms.url if sms else None, "token": SMS_TOKEN},
            **overrides,
        }
    )
    store = NoticeStore(db.pool, settings.retry_policy())
    outbox = MailOutbox(db.pool, ManualClock(NOW))
    dispatcher = NoticeDispatcher(
        settings,
        store,
        outbox,
        repo,
        SmsGateway(settings.sms, http),
        LinePush(settings.line, http),
    )
    return dispatcher, store


async def resolved_case(repo: CaseRepository, people: People, **form: object) -> int:
    case = await repo.create_case(complaint_form(**form), actor=people.agent, now=NOW)
    await forward(repo, case.id, people.unit_id, people.agent)
    await repo.transition(
        case.id,
        Move(
            Action.RESOLVE,
            decision="ซ่อมท่อประปาแล้ว",
            decision_reasons="ท่อแตก",
            root_cause="pipe_leak",
        ),
        actor=people.unit,
        now=NOW,
    )
    return case.id


def signed(body: bytes) -> str:
    digest = hmac.new(CHANNEL_SECRET.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def line_message(text: str) -> bytes:
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": 1764660000000,
        "webhookEventId": "01HZZZ",
        "replyToken": "r",
        "source": {"type": "user", "userId": CITIZEN},
        "message": {"id": "1", "type": "text", "text": text},
    }
    return json.dumps({"destination": "Uagency", "events": [event]}).encode()


async def history_actions(repo: CaseRepository, case_id: int) -> list[str]:
    return [event.action for event in await repo.history(case_id)]


async def test_a_resolved_case_is_pushed_on_line_once_linked_and_the_case_is_notified(
    db: Database, repo: CaseRepository, people: People, http: aiohttp.ClientSession
) -> None:
    case_id = await resolved_case(repo, people, notify_by="line")
    reference = (await repo.get_case(case_id, people.supervisor)).reference
    gateway = Gateway()
    async with serving(line_app(gateway, {CITIZEN}), gateway, "") as line:
        dispatcher, store = notices_for(db, repo, http, line=line)
        first = await dispatcher.run_once(NOW)
        assert (first.planned, first.sent, first.failed) == (1, 0, 1)
        [waiting] = await store.of_case(case_id)
        assert waiting.status == "failed" and "not linked" in (waiting.last_error or "")

        [link] = link_requests(line_message(f"สวัสดีค่ะ เลขเรื่อง {reference.lower()}"))
        assert await store.link_line(link.reference, link.line_user_id, NOW) == case_id
        later = NOW + timedelta(minutes=1)
        assert (await dispatcher.run_once(later)).sent == 1

    [push] = line.delivered
    assert push["to"] == CITIZEN
    [message] = push["messages"]
    assert message["type"] == "text"
    assert reference in message["text"] and "ซ่อมท่อประปาแล้ว" in message["text"]
    [received] = [r for r in line.received if r.body == push]
    assert received.headers["Authorization"] == f"Bearer {LINE_TOKEN}"
    case = await repo.get_case(case_id, people.supervisor)
    assert case.status is Status.NOTIFIED
    actions = await history_actions(repo, case_id)
    assert actions[-3:] == ["line_linked", "notice_sent", "notify"]
    [sent] = await store.of_case(case_id)
    assert (sent.status, sent.attempts) == ("sent", 2)


async def test_a_line_reply_lost_after_acceptance_is_not_pushed_twice(
    db: Database, repo: CaseRepository, people: People, http: aiohttp.ClientSession
) -> None:
    case_id = await resolved_case(repo, people, notify_by="line")
    reference = (await repo.get_case(case_id, people.supervisor)).reference
    gateway = Gateway(accept_then_fail=[500])
    async with serving(line_app(gateway, {CITIZEN}), gateway, "") as line:
        dispatcher, store = notices_for(db, repo, http, line=line)
        await store.link_line(reference, CITIZEN, NOW)
        assert (await dispatcher.run_once(NOW)).failed == 1
        assert (await dispatcher.run_once(NOW + timedelta(seconds=59))).sent == 0
        assert (await dispatcher.run_once(NOW + timedelta(seconds=60))).sent == 1
    assert len(line.delivered) == 1
    keys = {r.headers["X-Line-Retry-Key"] for r in line.received}
    assert len(keys) == 1 and len(line.received) == 2
    assert (await repo.get_case(case_id, people.supervisor)).status is Status.NOTIFIED


async def test_a_line_user_who_is_no_friend_is_given_up_and_shown_on_the_case(
    db: Database, repo: CaseRepository, people: People, http: aiohttp.ClientSession
) -> None:
    case_id = await resolved_case(repo, people, notify_by="line")
    reference = (await repo.get_case(case_id, people.supervisor)).reference
    gateway = Gateway()
    async with serving(line_app(gateway, set()), gateway, "") as line:
        dispatcher, store = notices_for(db, repo, http, line=line)
        await store.link_line(reference, CITIZEN, NOW)
        assert (await dispatcher.run_once(NOW)).given_up == 1
    [notice] = await store.of_case(case_id)
    assert notice.status == "given_up" and (notice.last_error or "").startswith("LINE 400")
    assert (await history_actions(repo, case_id))[-1] == "notice_given_up"
    assert (await repo.get_case(case_id, people.supervisor)).status is Status.RESOLVED


async def test_sms_at_a_configured_step_and_at_resolution_after_the_gateway_recovers(
    db: Database, repo: CaseRepository, people: People, http: aiohttp.ClientSession
) -> None:
    gateway = Gateway(fail_next=[503])
    async with serving(sms_app(gateway), gateway, "/api/sms") as sms:
        dispatcher, store = notices_for(
            db, repo, http, sms=sms, steps=["forwarded", "resolved"], language="en"
        )
        case = await repo.create_case(
            complaint_form(notify_by="sms", contact_phone="0812345678"),
            actor=people.agent,
            now=NOW,
        )
        await forward(repo, case.id, people.unit_id, people.agent)
        assert (await dispatcher.run_once(NOW)).failed == 1
        assert (await dispatcher.run_once(NOW + timedelta(minutes=1))).sent == 1
        await repo.transition(
            case.id,
            Move(
                Action.RESOLVE,
                decision="Pipe repaired",
                decision_reasons="burst",
                root_cause="pipe_leak",
            ),
            actor=people.unit,
            now=NOW,
        )
        assert (await dispatcher.run_once(NOW + timedelta(minutes=2))).sent == 1
    forwarded, resolved = sms.delivered
    assert forwarded["to"] == "0812345678" and "forwarded" in forwarded["text"]
    assert case.reference in resolved["text"] and "Pipe repaired" in resolved["text"]
    assert {r.headers["Authorization"] for r in sms.received} == {f"Bearer {SMS_TOKEN}"}
    steps = [(n.step, n.status) for n in await store.of_case(case.id)]
    assert steps == [("forwarded", "sent"), ("resolved", "sent")]
    assert (await repo.get_case(case.id, people.supervisor)).status is Status.NOTIFIED


async def test_an_e_mail_notice_goes_through_the_outbox_and_no_choice_means_no_notice(
    db: Database, repo: CaseRepository, people: People, http: aiohttp.ClientSession
) -> None:
    dispatcher, store = notices_for(db, repo, http)
    by_mail = await resolved_case(repo, people, notify_by="email", contact_email="a@example.org")
    silent = await resolved_case(repo, people)
    assert (await dispatcher.run_once(NOW)).sent == 1
    [mail] = await MailOutbox(db.pool, ManualClock(NOW)).history(case_id=by_mail)
    assert (mail.kind, mail.to, mail.status) == ("notice", "a@example.org", "queued")
    reference = (await repo.get_case(by_mail, people.supervisor)).reference
    assert reference in mail.subject
    assert await store.of_case(silent) == []
    assert (await repo.get_case(silent, people.supervisor)).status is Status.RESOLVED


def test_the_webhook_signature_is_the_base64_hmac_of_the_body() -> None:
    body = line_message("HL-2569-000001")
    verify(body, signed(body), CHANNEL_SECRET)
    with pytest.raises(Exception, match="does not match"):
        verify(body + b" ", signed(body), CHANNEL_SECRET)

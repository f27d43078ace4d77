"""Mails from the outbox reach a real SMTP server: over STARTTLS with a login, over implicit
TLS, and after a server that first refuses them; a permanent refusal is given up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from database.pool import Database
from demo.mail_catcher import MailCatcher
from mail.dispatcher import MailDispatcher
from mail.outbox import MailOutbox, MailStatus, OutgoingMail, RetryPolicy
from mail.settings import MailSettings
from mail.smtp import SmtpSender
from runtime.clock import ManualClock
from tests.tls import Authority

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
# The certificate names the host the mails are sent to, as a real relay's would.
HOST = "localhost"

BASKET = OutgoingMail(
    to="somchai@example.org",
    subject="เอกสารที่ท่านขอ / Your documents",
    text="เรียนคุณสมชาย\nแนบแบบฟอร์มมาให้แล้ว",
    html="<p>เรียนคุณสมชาย</p>",
    attachments=[("แบบฟอร์ม.pdf", "application/pdf", b"%PDF-1.4 demo")],
    caller_number="0812345678",
)


@pytest.fixture
async def catchers() -> AsyncIterator[list[MailCatcher]]:
    started: list[MailCatcher] = []
    yield started
    for catcher in started:
        await catcher.stop()


async def start(catchers: list[MailCatcher], catcher: MailCatcher) -> int:
    catchers.append(catcher)
    _, port = await catcher.start()
    return port


def dispatcher(db: Database, settings: MailSettings, **retry: float) -> MailDispatcher:
    box = MailOutbox(db.pool, ManualClock(T0), RetryPolicy(**retry))
    return MailDispatcher(box, SmtpSender(settings), settings.batch, settings.interval_s)


async def status_of(db: Database, mail_id: int) -> tuple[str, int, str | None]:
    row = await db.pool.fetchrow(
        "SELECT status, attempts, last_error FROM mail_outbox WHERE id = $1", mail_id
    )
    return row["status"], row["attempts"], row["last_error"]


async def test_starttls_with_login_delivers_text_html_and_attachment(
    db: Database, authority: Authority, catchers: list[MailCatcher], tmp_path: Path
) -> None:
    catcher = MailCatcher(starttls=authority.server_context(HOST), login=("hotline", "s3cret"))
    port = await start(catchers, catcher)
    settings = MailSettings(
        enabled=True,
        smtp_host=HOST,
        smtp_port=port,
        security="starttls",
        tls_ca_file=authority.certificate,
        smtp_username="hotline",
        smtp_password="s3cret",
        from_address="1169@ditp.example",
    )
    send = dispatcher(db, settings)
    mail_id = await MailOutbox(db.pool, ManualClock(T0)).enqueue(BASKET)
    result = await send.run_once(T0)
    assert (result.sent, result.failed) == (1, 0)
    [caught] = catcher.caught
    assert caught.over_tls and caught.login == "hotline"
    assert caught.recipients == ("somchai@example.org",)
    assert caught.subject == BASKET.subject
    assert "แนบแบบฟอร์มมาให้แล้ว" in caught.text()
    assert caught.html() is not None and "<p>เรียนคุณสมชาย</p>" in (caught.html() or "")
    assert caught.attachments() == [("แบบฟอร์ม.pdf", "application/pdf", b"%PDF-1.4 demo")]
    assert (await status_of(db, mail_id))[0] == "sent"


async def test_implicit_tls_delivers(
    db: Database, authority: Authority, catchers: list[MailCatcher]
) -> None:
    catcher = MailCatcher(implicit_tls=authority.server_context(HOST))
    port = await start(catchers, catcher)
    settings = MailSettings(
        smtp_host=HOST, smtp_port=port, security="tls", tls_ca_file=authority.certificate
    )
    await MailOutbox(db.pool, ManualClock(T0)).enqueue(BASKET)
    assert (await dispatcher(db, settings).run_once(T0)).sent == 1
    assert [c.over_tls for c in catcher.caught] == [True]


async def test_a_server_that_refuses_then_accepts_gets_the_mail_after_the_backoff(
    db: Database, catchers: list[MailCatcher]
) -> None:
    catcher = MailCatcher(refuse_first=2)
    port = await start(catchers, catcher)
    settings = MailSettings(smtp_host="127.0.0.1", smtp_port=port, security="none")
    send = dispatcher(db, settings, first_s=30, max_s=600)
    mail_id = await MailOutbox(db.pool, ManualClock(T0)).enqueue(BASKET)

    assert (await send.run_once(T0)).failed == 1
    status, attempts, error = await status_of(db, mail_id)
    assert (status, attempts) == ("failed", 1) and error is not None and error.startswith("451")
    assert (await send.run_once(T0 + timedelta(seconds=29))).failed == 0
    assert (await send.run_once(T0 + timedelta(seconds=30))).failed == 1
    assert (await send.run_once(T0 + timedelta(seconds=89))).sent == 0
    assert (await send.run_once(T0 + timedelta(seconds=90))).sent == 1
    assert (await status_of(db, mail_id))[:2] == ("sent", 3)
    assert len(catcher.caught) == 1


async def test_no_server_listening_is_retried_and_a_5xx_refusal_is_given_up(
    db: Database, catchers: list[MailCatcher]
) -> None:
    box = MailOutbox(db.pool, ManualClock(T0))
    mail_id = await box.enqueue(BASKET)
    closed = MailCatcher()
    port = await start(catchers, closed)
    await closed.stop()
    settings = MailSettings(smtp_host="127.0.0.1", smtp_port=port, security="none")
    await dispatcher(db, settings).run_once(T0)
    assert (await status_of(db, mail_id))[0] == "failed"

    strict = MailCatcher(unknown=frozenset({BASKET.to}))
    port = await start(catchers, strict)
    later = T0 + timedelta(hours=2)
    listening = MailSettings(smtp_host="127.0.0.1", smtp_port=port, security="none")
    assert (await dispatcher(db, listening).run_once(later)).given_up == 1
    status, _, error = await status_of(db, mail_id)
    assert status == MailStatus.GIVEN_UP and error is not None and "550" in error
    assert strict.caught == []


async def test_a_server_certificate_from_another_authority_is_refused(
    db: Database, authority: Authority, catchers: list[MailCatcher], tmp_path: Path
) -> None:
    from tests.tls import make_authority

    stranger = make_authority(tmp_path / "stranger", "Someone Else")
    catcher = MailCatcher(starttls=stranger.server_context(HOST))
    port = await start(catchers, catcher)
    settings = MailSettings(
        smtp_host=HOST, smtp_port=port, security="starttls", tls_ca_file=authority.certificate
    )
    mail_id = await MailOutbox(db.pool, ManualClock(T0)).enqueue(BASKET)
    await dispatcher(db, settings).run_once(T0)
    status, _, error = await status_of(db, mail_id)
    assert status == "failed" and error is not None and "CERTIFICATE_VERIFY_FAILED" in error
    assert catcher.caught == []

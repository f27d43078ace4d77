"""The outbox table: what a feature enqueues is kept with its attachments, and concurrent
dispatchers never take the same mail twice; its credentials come from the environment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.settings import SettingsError, load_settings
from database.pool import Database
from mail.outbox import MailOutbox, MailStatus, OutgoingMail, RetryPolicy
from runtime.clock import ManualClock

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def outbox(db: Database, clock: ManualClock, **retry: float) -> MailOutbox:
    return MailOutbox(db.pool, clock, RetryPolicy(**retry))


async def test_a_mail_enqueued_in_a_rolled_back_transaction_is_never_sent(db: Database) -> None:
    box = outbox(db, ManualClock(T0))
    async with db.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await box.enqueue(OutgoingMail("a@example.org", "s", "t"), conn)
        await tx.rollback()
        kept = await box.enqueue(
            OutgoingMail(
                "b@example.org",
                "เอกสาร",
                "ข้อความ",
                attachments=[("form.pdf", "application/pdf", b"%PDF-1.4 x")],
                caller_number="0812345678",
            ),
            conn,
        )
    claimed = await box.claim(T0, 10)
    assert [(m.id, m.to, m.attachments) for m in claimed] == [
        (kept, "b@example.org", [("form.pdf", "application/pdf", b"%PDF-1.4 x")])
    ]
    [line] = await box.history(caller_number="0812345678")
    assert (line.status, line.attempts, line.subject) == (MailStatus.SENDING, 1, "เอกสาร")


async def test_concurrent_dispatchers_claim_each_mail_once(db: Database) -> None:
    box = outbox(db, ManualClock(T0))
    ids = {await box.enqueue(OutgoingMail(f"p{i}@example.org", "s", "t")) for i in range(60)}
    batches = await asyncio.gather(*(box.claim(T0, 7) for _ in range(12)))
    taken = [mail.id for batch in batches for mail in batch]
    assert sorted(taken) == sorted(ids)


async def test_failures_wait_longer_each_time_then_give_up(db: Database) -> None:
    box = outbox(db, ManualClock(T0), max_attempts=3, first_s=60, max_s=100)
    mail_id = await box.enqueue(OutgoingMail("a@example.org", "s", "t", case_id=None))
    now = T0
    statuses = []
    waits = []
    for _ in range(3):
        [mail] = await box.claim(now, 10)
        assert await box.claim(now, 10) == []
        statuses.append(await box.mark_failed(mail, now, "421 try later", permanent=False))
        due = await db.pool.fetchval(
            "SELECT next_attempt_at FROM mail_outbox WHERE id = $1", mail_id
        )
        waits.append(due - now)
        assert await box.claim(due - timedelta(seconds=1), 10) == []
        now = due
    assert statuses == [MailStatus.FAILED, MailStatus.FAILED, MailStatus.GIVEN_UP]
    assert waits[:2] == [timedelta(seconds=60), timedelta(seconds=100)]
    assert await box.claim(now + timedelta(days=1), 10) == []


@pytest.mark.parametrize(
    ("toml", "variable"),
    [
        ('[mail]\nsmtp_username = "u"\nsmtp_password = "p"\n', "HOTLINE_MAIL__SMTP_PASSWORD"),
        ('[notices.line]\nchannel_secret = "s"\n', "HOTLINE_NOTICES__LINE__CHANNEL_SECRET"),
        ('[notices.sms]\ntoken = "t"\n', "HOTLINE_NOTICES__SMS__TOKEN"),
    ],
)
def test_mail_and_notice_secrets_are_refused_in_the_file(
    tmp_path: Path, toml: str, variable: str
) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text(toml)
    with pytest.raises(SettingsError, match=f"environment only \\({variable}\\)"):
        load_settings(config)


def test_mail_secrets_are_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text('[mail]\nsmtp_username = "relay"\n')
    monkeypatch.setenv("HOTLINE_MAIL__SMTP_PASSWORD", "from-env")
    password = load_settings(config).mail.smtp_password
    assert password is not None and password.get_secret_value() == "from-env"


async def test_a_mail_left_sending_by_a_killed_dispatcher_is_taken_again_after_its_lease(
    db: Database,
) -> None:
    box = outbox(db, ManualClock(T0), lease_s=300)
    mail_id = await box.enqueue(OutgoingMail("a@example.org", "s", "t"))
    [taken] = await box.claim(T0, 10)
    assert await box.claim(T0 + timedelta(seconds=299), 10) == []
    [again] = await box.claim(T0 + timedelta(seconds=300), 10)
    assert (again.id, again.attempts) == (taken.id, 2) == (mail_id, 2)


def test_notified_cannot_be_a_step_to_announce() -> None:
    with pytest.raises(SettingsError, match="notified is what a notice leads to"):
        load_settings(notices={"steps": ["resolved", "notified"]})

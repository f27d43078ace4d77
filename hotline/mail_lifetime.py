"""E-mail and notices to citizens as parts with a lifetime: the outbox and the notices'
store on the app, the SMTP dispatcher and the notices job as supervised background tasks
(each only when its settings switch it on), one HTTP client session for SMS and LINE."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from mail.dispatcher import MailDispatcher
from mail.outbox import MailOutbox
from mail.smtp import SmtpSender
from notices.dispatcher import NoticeDispatcher
from notices.line import LinePush
from notices.sms import SmsGateway
from notices.store import NoticeStore
from runtime.jobs import cancel_and_wait, run_every
from web.keys import (
    cases_key,
    clock_key,
    db_key,
    mail_outbox_key,
    notices_key,
    settings_key,
    tasks_key,
)


async def mail_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, clock, spawn = app[settings_key], app[clock_key], app[tasks_key].spawn
    pool = app[db_key].pool
    outbox = MailOutbox(pool, clock, settings.mail.retry_policy())
    store = NoticeStore(pool, settings.notices.retry_policy())
    app[mail_outbox_key] = outbox
    app[notices_key] = store
    http = aiohttp.ClientSession()
    tasks = []
    if settings.mail.enabled:
        mails = MailDispatcher(outbox, SmtpSender(settings.mail), settings.mail.batch)
        tasks.append(
            spawn(
                "mail_dispatcher",
                lambda: run_every(
                    mails.run_once, clock, settings.mail.interval_s, failed="mail_pass_failed"
                ),
            )
        )
    if settings.notices.enabled:
        notices = NoticeDispatcher(
            settings.notices,
            store,
            outbox,
            app[cases_key],
            SmsGateway(settings.notices.sms, http),
            LinePush(settings.notices.line, http),
        )
        tasks.append(
            spawn(
                "notices",
                lambda: run_every(
                    notices.run_once, clock, settings.notices.interval_s, failed="notice_failed"
                ),
            )
        )
    yield
    await cancel_and_wait(tasks)
    await http.close()

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
from runtime.jobs import cancel_and_wait
from web.keys import (
    cases_key,
    clock_key,
    db_key,
    mail_dispatcher_key,
    mail_outbox_key,
    notice_dispatcher_key,
    notices_key,
    settings_key,
    tasks_key,
)


async def mail_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, clock, spawn = app[settings_key], app[clock_key], app[tasks_key].spawn
    mail, notice = settings.mail, settings.notices
    pool = app[db_key].pool
    outbox = MailOutbox(pool, clock, mail.retry_policy())
    store = NoticeStore(pool, notice.retry_policy())
    http = aiohttp.ClientSession()
    app[mail_outbox_key] = outbox
    app[notices_key] = store
    app[mail_dispatcher_key] = MailDispatcher(outbox, SmtpSender(mail), mail.batch, mail.interval_s)
    app[notice_dispatcher_key] = NoticeDispatcher(
        notice,
        store,
        outbox,
        app[cases_key],
        SmsGateway(notice.sms, http),
        LinePush(notice.line, http),
    )
    tasks = []
    if mail.enabled:
        tasks.append(spawn("mail", lambda: app[mail_dispatcher_key].run_forever(clock)))
    if notice.enabled:
        tasks.append(spawn("notices", lambda: app[notice_dispatcher_key].run_forever(clock)))
    yield
    await cancel_and_wait(tasks)
    await http.close()

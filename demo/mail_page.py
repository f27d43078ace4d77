"""The demo's page of caught mails (/demo/mails, supervisors and admins): what hotline sent
to callers in the demo, as the local SMTP catcher received it. Demo only: the service
itself never holds anybody's mail."""

from __future__ import annotations

from aiohttp import web

from demo.mail_catcher import MailCatcher
from web.auth import require_role
from web.keys import settings_key
from web.templating import render

catcher_key = web.AppKey("demo_mail_catcher", MailCatcher)


@require_role("supervisor", "admin")
async def caught_mails(request: web.Request) -> web.Response:
    tz = request.app[settings_key].tz
    mails = [
        {
            "at": mail.received_at.astimezone(tz),
            "to": ", ".join(mail.recipients),
            "subject": mail.subject,
            "text": mail.text(),
            "attachments": [name for name, _, _ in mail.attachments()],
        }
        for mail in reversed(request.app[catcher_key].caught)
    ]
    return render(request, "demo/mails.html", {"mails": mails})


def add_mail_page(app: web.Application, catcher: MailCatcher) -> None:
    app[catcher_key] = catcher
    app.router.add_get("/demo/mails", caught_mails)

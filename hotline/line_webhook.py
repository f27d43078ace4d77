"""LINE's webhook (POST /line/webhook): events from the agency's Official Account.

Only a body whose X-Line-Signature verifies with the channel secret is read; a citizen who
sends the Official Account their case number has their LINE account linked to that case
(and its caller), so notices can reach them there. LINE wants 200 for every verified
delivery, whatever it carried; without a channel secret the webhook is off (404).
"""

from __future__ import annotations

import structlog
from aiohttp import web

from notices.line_webhook import BadSignature, link_requests, verify
from web.auth import signed_by_sender
from web.keys import clock_key, notices_key, settings_key

log = structlog.get_logger()

MAX_BODY = 1024 * 1024


@signed_by_sender
async def line_webhook(request: web.Request) -> web.Response:
    secret = request.app[settings_key].notices.line.channel_secret
    if secret is None:
        raise web.HTTPNotFound()
    body = await request.read()
    if len(body) > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=len(body))
    try:
        verify(body, request.headers.get("X-Line-Signature", ""), secret.get_secret_value())
    except BadSignature:
        log.warning("line_webhook_bad_signature")
        raise web.HTTPUnauthorized(text="bad signature") from None
    store, now = request.app[notices_key], request.app[clock_key].now()
    for link in link_requests(body):
        case_id = await store.link_line(link.reference, link.line_user_id, now)
        log.info("line_linked" if case_id else "line_link_unknown_case", case_id=case_id)
    return web.Response(text="ok")

"""What an HTTP answer means for a notice: accepted, worth retrying, or never going to work.

Shared by the SMS gateway and LINE: 2xx is accepted; 408, 429 and 5xx (and no answer at all)
are tried again later; any other 4xx (a bad token, a bad number, a user who is not a friend
of the Official Account) is given up, with the answer's text kept for the case page.
"""

from __future__ import annotations

import aiohttp

from mail.outbox import SendFailed

RETRIED_4XX = frozenset({408, 429})


async def refused(response: aiohttp.ClientResponse, service: str) -> SendFailed:
    body = (await response.text())[:300]
    permanent = 400 <= response.status < 500 and response.status not in RETRIED_4XX
    return SendFailed(f"{service} {response.status}: {body}", permanent=permanent)


def unreachable(exc: Exception, service: str) -> SendFailed:
    return SendFailed(f"{service} unreachable: {type(exc).__name__}: {exc}", permanent=False)

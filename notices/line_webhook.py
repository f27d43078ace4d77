"""What LINE's webhook says, once its X-Line-Signature is verified: the base64 HMAC-SHA256
of the raw body keyed with the channel secret. A citizen links their LINE account by sending
the Official Account the code the agent gave them: their case number."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass

# Case references as cases.repository formats them: HL-2569-000123.
CODE = re.compile(r"\bHL-\d{4}-\d{4,}\b", re.IGNORECASE)


class BadSignature(Exception):
    """The body was not signed with our channel secret: not from LINE, or altered."""


@dataclass(frozen=True)
class LinkRequest:
    line_user_id: str
    reference: str


def verify(body: bytes, signature: str, channel_secret: str) -> None:
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    if not hmac.compare_digest(base64.b64encode(digest), signature.encode()):
        raise BadSignature("X-Line-Signature does not match")


def link_requests(body: bytes) -> list[LinkRequest]:
    """The text messages from users that carry a case number; other events are ignored."""
    try:
        payload = json.loads(body)
    except ValueError:
        return []
    events = payload.get("events") if isinstance(payload, dict) else None
    found: list[LinkRequest] = []
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict) or event.get("type") != "message":
            continue
        message, source = event.get("message"), event.get("source")
        if not (isinstance(message, dict) and isinstance(source, dict)):
            continue
        user, text = source.get("userId"), message.get("text")
        if message.get("type") != "text" or not isinstance(user, str) or not isinstance(text, str):
            continue
        if code := CODE.search(text):
            found.append(LinkRequest(line_user_id=user, reference=code.group(0).upper()))
    return found

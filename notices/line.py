"""LINE Messaging API: a text pushed to a user who linked their LINE account with the
agency's Official Account (POST {api_base}/v2/bot/message/push, Bearer channel access token).

Every push carries the notice's own X-Line-Retry-Key, so a retry after a timeout or a 5xx
cannot reach the citizen twice: LINE answers 409 to a key it has already accepted, which is
a success here.
"""

from __future__ import annotations

import aiohttp

from mail.outbox import SendFailed
from notices.http_delivery import refused, unreachable
from notices.settings import LineSettings

PUSH_PATH = "/v2/bot/message/push"
# LINE's limit for one text message.
MAX_TEXT = 5000


class LinePush:
    def __init__(self, settings: LineSettings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self._session = session
        self._url = str(settings.api_base).rstrip("/") + PUSH_PATH

    @property
    def configured(self) -> bool:
        return self.settings.channel_access_token is not None

    async def push(self, user_id: str, text: str, retry_key: str) -> str:
        """Push `text`; LINE's request id, or SendFailed."""
        token = self.settings.channel_access_token
        if token is None:
            raise SendFailed("LINE is not configured", permanent=False)
        headers = {
            "Authorization": f"Bearer {token.get_secret_value()}",
            "X-Line-Retry-Key": retry_key,
        }
        body = {"to": user_id, "messages": [{"type": "text", "text": text[:MAX_TEXT]}]}
        try:
            async with self._session.post(
                self._url,
                json=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout_s),
            ) as response:
                if response.status == 409 or response.ok:
                    return response.headers.get("X-Line-Request-Id", "")
                raise await refused(response, "LINE")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise unreachable(exc, "LINE") from exc

"""An HTTP SMS gateway: JSON POST {to, text, sender, reference} to the configured URL with
a Bearer token; the gateway's answer may carry its message `id`. Thai gateways differ in
their field names; this is the common shape, and the one place to adapt."""

from __future__ import annotations

import aiohttp

from mail.outbox import SendFailed
from notices.http_delivery import refused, unreachable
from notices.settings import SmsSettings


class SmsGateway:
    def __init__(self, settings: SmsSettings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self._session = session

    @property
    def configured(self) -> bool:
        return self.settings.url is not None

    async def send(self, number: str, text: str, reference: str) -> str:
        """Send `text` to `number`; the gateway's message id ("" when it gives none)."""
        s = self.settings
        if s.url is None:
            raise SendFailed("no SMS gateway is configured", permanent=False)
        headers = {"Authorization": f"Bearer {s.token.get_secret_value()}"} if s.token else {}
        body = {"to": number, "text": text, "sender": s.sender, "reference": reference}
        try:
            async with self._session.post(
                str(s.url),
                json=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=s.timeout_s),
            ) as response:
                if not response.ok:
                    raise await refused(response, "SMS")
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise unreachable(exc, "SMS") from exc
        return str(answer.get("id", "")) if isinstance(answer, dict) else ""

"""A local SMTP server that keeps every mail it receives, for `make demo` and the tests.

It is a real SMTP server (aiosmtpd) on a TCP port, optionally with STARTTLS or implicit
TLS and a login, and it can refuse the first mails with a temporary 451, as a busy relay
does, so the outbox's retries can be watched. Nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class CaughtMail:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage
    received_at: datetime
    over_tls: bool
    login: str | None

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        body = self.message.get_body(("plain",))
        return body.get_content() if body is not None else ""

    def html(self) -> str | None:
        body = self.message.get_body(("html",))
        return body.get_content() if body is not None else None

    def attachments(self) -> list[tuple[str, str, bytes]]:
        return [
            (part.get_filename() or "", part.get_content_type(), bytes(part.get_content()))
            for part in self.message.iter_attachments()
        ]


class MailCatcher:
    """`caught` holds what arrived, oldest first; `refuse_first` mails get 451 first, and
    mail to an `unknown` address gets 550."""

    def __init__(
        self,
        *,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        login: tuple[str, str] | None = None,
        refuse_first: int = 0,
        unknown: frozenset[str] = frozenset(),
    ) -> None:
        self.caught: list[CaughtMail] = []
        self.refused = 0
        self._starttls = starttls
        self._implicit_tls = implicit_tls
        self._login = login
        self._refuse_first = refuse_first
        self._unknown = unknown
        self._server: asyncio.Server | None = None
        self.arrived = asyncio.Event()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, host, port, ssl=self._implicit_tls)
        address = self._server.sockets[0].getsockname()
        return address[0], address[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _protocol(self) -> SMTP:
        return SMTP(
            self,
            hostname="catcher.test",
            tls_context=self._starttls,
            require_starttls=self._starttls is not None,
            auth_required=self._login is not None,
            auth_require_tls=self._starttls is not None,
            authenticator=self._authenticate if self._login is not None else None,
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        given = cast(LoginPassword, data)
        expected = self._login or ("", "")
        ok = (given.login.decode(), given.password.decode()) == expected
        return AuthResult(success=ok, auth_data=given.login.decode() if ok else None)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self._unknown:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refused < self._refuse_first:
            self.refused += 1
            return "451 4.3.0 busy, try again later"
        message = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        self.caught.append(
            CaughtMail(
                sender=str(envelope.mail_from),
                recipients=tuple(envelope.rcpt_tos),
                message=cast(EmailMessage, message),
                received_at=datetime.now(UTC),
                over_tls=session.ssl is not None or self._implicit_tls is not None,
                login=session.auth_data if isinstance(session.auth_data, str) else None,
            )
        )
        self.arrived.set()
        return "250 2.0.0 kept"

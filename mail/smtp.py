"""Sending one mail over SMTP (aiosmtplib): implicit TLS, STARTTLS or plain, with login.

The server's certificate is always verified (against `tls_ca_file` when set); STARTTLS is
required, never opportunistic, so a server that does not offer it fails the attempt instead
of receiving the mail in clear. Whether a failure is worth retrying is decided here, from
SMTP's own reply codes: 5xx is permanent, everything else (4xx, no connection) is not.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from mail.outbox import ClaimedMail, SendFailed
from mail.settings import MailSettings


def build_message(mail: ClaimedMail, from_address: str) -> EmailMessage:
    """The MIME message: text, an HTML alternative when there is one, the attachments."""
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"hotline-{mail.id}")
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    for filename, content_type, content in mail.attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(
            content, maintype=maintype, subtype=subtype or "octet-stream", filename=filename
        )
    return message


class SmtpSender:
    """One SMTP session per mail, configured from MailSettings."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self.tls_context = ssl.create_default_context(
            cafile=str(settings.tls_ca_file) if settings.tls_ca_file else None
        )

    async def send(self, mail: ClaimedMail) -> str:
        """Send the mail; its Message-ID, or SendFailed."""
        s = self.settings
        message = build_message(mail, s.from_address)
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                use_tls=s.security == "tls",
                start_tls=s.security == "starttls",
                tls_context=self.tls_context if s.security != "none" else None,
                timeout=s.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            raise SendFailed(str(exc), permanent=all(code >= 500 for code in codes)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise SendFailed(f"{exc.code} {exc.message}", permanent=exc.code >= 500) from exc
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise SendFailed(f"{type(exc).__name__}: {exc}", permanent=False) from exc
        return str(message["Message-ID"])

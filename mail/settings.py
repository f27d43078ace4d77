"""How hotline reaches its SMTP server and how hard it tries (settings section `mail`).

The password is a secret: it is read from the environment only
(HOTLINE_MAIL__SMTP_PASSWORD), never from the TOML file (config.settings refuses it there).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, FilePath, SecretStr, model_validator

from mail.outbox import RetryPolicy

#: Settings of this section that only the environment may carry.
SECRETS = ("smtp_password",)


class MailSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=False, description="off: mails wait in the outbox unsent")
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls (port 587), tls (implicit, 465), none (lab)"
    )
    tls_ca_file: FilePath | None = Field(
        default=None, description="a private CA to trust for the server (default: system CAs)"
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    from_address: str = Field(default="hotline@localhost", min_length=3)
    timeout_s: float = Field(default=30.0, gt=0)
    interval_s: float = Field(default=10.0, gt=0, description="how often the outbox is read")
    batch: int = Field(default=20, ge=1, le=1000)
    max_attempts: int = Field(default=8, ge=1)
    first_retry_s: float = Field(default=60.0, gt=0)
    max_retry_s: float = Field(default=3600.0, gt=0)
    lease_s: float = Field(
        default=300.0, gt=0, description="a mail `sending` this long (a killed sender) is retried"
    )

    @model_validator(mode="after")
    def _password_needs_username(self) -> MailSettings:
        if self.smtp_password is not None and not self.smtp_username:
            raise ValueError("smtp_password needs smtp_username")
        return self

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            first_s=self.first_retry_s,
            max_s=self.max_retry_s,
            lease_s=self.lease_s,
        )

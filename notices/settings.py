"""When and how callers are told about their case (settings section `notices`).

The tokens and the LINE channel secret are secrets: read from the environment only
(HOTLINE_NOTICES__SMS__TOKEN, HOTLINE_NOTICES__LINE__CHANNEL_ACCESS_TOKEN,
HOTLINE_NOTICES__LINE__CHANNEL_SECRET), never from the TOML file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, field_validator

from cases.lifecycle import Status
from mail.outbox import RetryPolicy

#: Settings of this section that only the environment may carry, as (subsection, name).
SECRETS = (("sms", "token"), ("line", "channel_access_token"), ("line", "channel_secret"))


class SmsSettings(BaseModel):
    """An HTTP SMS gateway: JSON POST {to, text, sender, reference}, Bearer token."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: AnyHttpUrl | None = Field(default=None, description="unset: no SMS is sent")
    token: SecretStr | None = None
    sender: str = Field(default="HOTLINE", min_length=1, max_length=11)
    timeout_s: float = Field(default=10.0, gt=0)


class LineSettings(BaseModel):
    """The agency's LINE Official Account (Messaging API channel)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_base: AnyHttpUrl = Field(default=AnyHttpUrl("https://api.line.me"))
    channel_access_token: SecretStr | None = Field(default=None, description="unset: no LINE")
    channel_secret: SecretStr | None = Field(
        default=None, description="verifies the webhook's X-Line-Signature; unset: webhook off"
    )
    timeout_s: float = Field(default=10.0, gt=0)


class NoticeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    steps: tuple[Status, ...] = Field(
        default=(Status.RESOLVED,), description="the statuses a caller is told of"
    )
    language: Literal["th", "en"] = "th"
    agency: str = Field(default="สายด่วน 1169", min_length=1, max_length=80)
    hotline: str = Field(default="1169", min_length=1, max_length=20)
    interval_s: float = Field(default=15.0, gt=0)
    batch: int = Field(default=50, ge=1, le=1000)
    max_attempts: int = Field(default=10, ge=1)
    first_retry_s: float = Field(default=60.0, gt=0)
    max_retry_s: float = Field(default=3600.0, gt=0)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    line: LineSettings = Field(default_factory=LineSettings)

    @field_validator("steps")
    @classmethod
    def _steps_before_notified(cls, value: tuple[Status, ...]) -> tuple[Status, ...]:
        if Status.NOTIFIED in value:
            raise ValueError("notified is what a notice leads to, not a step to announce")
        return value

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts, first_s=self.first_retry_s, max_s=self.max_retry_s
        )

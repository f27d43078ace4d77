"""Typed, validated settings from the environment and an optional TOML file.

A wrong value must stop the service with one line that names the setting, so every field
is validated here at start and `SettingsError` carries that line.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import tomllib
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from accounts.login_throttle import ThrottleRules
from cases.settings import CaseSettings
from ivr.config import SurveySettings
from knowledge.settings import KnowledgeSettings
from mail import settings as mail_settings
from mail.settings import MailSettings
from notices import settings as notice_settings
from notices.settings import NoticeSettings
from telephony.ami.tls import client_context

Port = int


_file_values: ContextVar[dict[str, Any] | None] = ContextVar("hotline_file", default=None)


class _FileSource(PydanticBaseSettingsSource):
    """The values read from the TOML file, as the lowest-priority source."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


class SettingsError(Exception):
    """One line for people: which setting is wrong and why."""


class PbxSettings(BaseModel):
    """One Asterisk PBX reached over AMI."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    host: str = Field(min_length=1)
    port: Port = Field(default=5038, ge=1, le=65535)
    username: str = Field(min_length=1)
    secret: SecretStr
    tls: bool = Field(
        default=False,
        description="AMI over TLS (Asterisk's tlsbindaddr, often port 5039); always verified",
    )
    tls_ca_file: FilePath | None = Field(
        default=None, description="PEM bundle of a private CA, trusted instead of the system's"
    )
    tls_server_name: str | None = Field(
        default=None,
        max_length=253,
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$",
        description="the name on the PBX's certificate, when `host` is an address",
    )

    # This PBX's queue_log table (docs/queue_log.md), schema-qualified; empty: not
    # configured, and calls that start and end during an AMI gap are lost.
    queue_log_table: str = Field(default="", pattern=r"^$|^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$")

    @field_validator("tls_ca_file")
    @classmethod
    def _ca_bundle(cls, value: Path | None) -> Path | None:
        if value is not None:
            try:
                client_context(value)
            except (ssl.SSLError, OSError) as exc:
                raise ValueError(f"not a PEM bundle of CA certificates ({exc})") from exc
        return value

    @model_validator(mode="after")
    def _tls_details_need_tls(self) -> PbxSettings:
        if not self.tls and (self.tls_ca_file or self.tls_server_name):
            raise ValueError("tls_ca_file and tls_server_name are used only with tls = true")
        return self


class Standards(BaseModel):
    """The service standards every call and queue is measured against (DITP 1169, METRICS)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    greeting_max_s: float = Field(default=30, gt=0)
    inquiry_min_s: float = Field(default=300, ge=0)
    inquiry_max_s: float = Field(default=1200, gt=0)
    closing_max_s: float = Field(default=30, gt=0)
    wrapup_s: float = Field(default=60, ge=0)
    satisfaction_target: float = Field(default=0.85, gt=0, le=1)
    sl_threshold_s: float = Field(default=20, gt=0)
    short_abandon_s: float = Field(default=5, ge=0)
    fcr_days: int = Field(default=7, ge=1)

    @model_validator(mode="after")
    def _inquiry_range(self) -> Standards:
        if self.inquiry_min_s > self.inquiry_max_s:
            raise ValueError("inquiry_min_s must not exceed inquiry_max_s")
        return self


class SecuritySettings(BaseModel):
    """Issue 12's knobs: proxies, login throttling, sessions, monitoring access."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses or networks of reverse proxies whose X-Forwarded-* are believed",
    )
    login_free_per_username: int = Field(default=5, ge=1)
    login_free_per_address: int = Field(default=20, ge=1)
    login_first_wait_s: float = Field(default=1.0, gt=0)
    login_max_wait_s: float = Field(default=900.0, gt=0)
    idle_minutes: float = Field(default=30, gt=0, description="a session unused this long ends")
    max_sessions_per_user: int = Field(default=3, ge=1, description="beyond it the oldest ends")
    board_numbers_for: tuple[Literal["supervisor", "admin"], ...] = Field(
        default=("supervisor",),
        description="roles that see callers' numbers in full on the board (others: masked)",
    )
    monitoring_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for /metrics and the detailed /healthz; unset: no /metrics",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not an IP address or network") from exc
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in self.trusted_proxies)

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.idle_minutes)

    def throttle_rules(self) -> ThrottleRules:
        return ThrottleRules(
            free_per_username=self.login_free_per_username,
            free_per_address=self.login_free_per_address,
            first_wait_s=self.login_first_wait_s,
            max_wait_s=self.login_max_wait_s,
        )


class CallControlSettings(BaseModel):
    """How the panel's transfers and click-to-call reach the shipped dialplan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The agents' context: other agents' extensions, the queues and outside numbers.
    agent_context: str = Field(default="from-agents", min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    callback_caller_id: str = Field(default='"Hotline" <1169>', min_length=1, max_length=80)
    # PJSIP/agent102 is reached at <prefix>102 (extensions.conf `_210X`).
    agent_extension_prefix: str = Field(default="2", pattern=r"^[0-9]*$")
    # The extension that puts a caller back into each queue (a queue not listed: its name).
    queue_extensions: dict[str, str] = Field(default_factory=lambda: {"hotline": "1169"})


class SpySettings(BaseModel):
    """Supervisors listening, whispering or barging on a call through their own phone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # How long the supervisor's phone rings before the listen is given up.
    ring_timeout_s: int = Field(default=20, ge=5, le=120)


class RecordingSettings(BaseModel):
    """Call recording (issue 15): where Asterisk writes and hotline reads the recordings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Off: no MixMonitor is started and nothing is played back.
    enabled: bool = False
    # The folder shared with Asterisk, as hotline sees it: the only folder ever served.
    folder: Path = Path("var/recordings")
    # The same folder as Asterisk sees it (MixMonitor's File is a path on the PBX).
    pbx_folder: str = Field(default="/var/spool/asterisk/monitor", pattern=r"^/[A-Za-z0-9_./-]*$")


class CodeLabel(BaseModel):
    """A code the PBX or the calls table stores, with what people read in each language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    th: str = Field(min_length=1, max_length=80)
    en: str = Field(min_length=1, max_length=80)

    def label(self, lang: str) -> str:
        return self.th if lang == "th" else self.en


# Pause reasons the service itself sets on the PBX; an agent cannot pick them.
RESERVED_PAUSE_CODES = ("login", "wrapup")


def _unique_codes(labels: list[CodeLabel]) -> list[str]:
    """The codes of a configured list, which must have at least one and no code twice."""
    codes = [c.code for c in labels]
    if not codes or len(codes) != len(set(codes)):
        raise ValueError("codes must be unique and at least one is needed")
    return codes


def _codes(*rows: tuple[str, str, str]) -> list[CodeLabel]:
    return [CodeLabel(code=code, th=th, en=en) for code, th, en in rows]


DEFAULT_PAUSE_CODES = _codes(
    ("break", "พักเบรก", "Break"),
    ("lunch", "พักกลางวัน", "Lunch"),
    ("training", "อบรม", "Training"),
    ("meeting", "ประชุม", "Meeting"),
    ("coaching", "รับคำแนะนำ (โค้ช)", "Coaching"),
    ("toilet", "เข้าห้องน้ำ", "Toilet"),
)
DEFAULT_WRAPUP_CODES = _codes(
    ("resolved", "ตอบคำถาม/แก้ไขแล้ว", "Answered / resolved"),
    ("case_opened", "รับเรื่องร้องเรียน", "Case opened"),
    ("referred", "แนะนำหน่วยงานอื่น", "Referred elsewhere"),
    ("follow_up", "ต้องติดต่อกลับ", "Follow-up needed"),
    ("no_speech", "ไม่มีเสียง/สายหลุด", "Silent / dropped"),
    ("not_hotline", "ไม่เกี่ยวกับสายด่วน", "Not for the hotline"),
)


class ShiftSettings(BaseModel):
    """An agent's shift: the pause codes they may choose, the wrap-up codes (dispositions)
    of a call, and how often signed-out sessions are taken out of the queues."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pause_codes: list[CodeLabel] = Field(default_factory=lambda: list(DEFAULT_PAUSE_CODES))
    wrapup_codes: list[CodeLabel] = Field(default_factory=lambda: list(DEFAULT_WRAPUP_CODES))
    presence_sweep_s: float = Field(default=30, gt=0)

    @field_validator("pause_codes", "wrapup_codes")
    @classmethod
    def _unique_codes(cls, value: list[CodeLabel]) -> list[CodeLabel]:
        codes = _unique_codes(value)
        if set(codes) & set(RESERVED_PAUSE_CODES):
            raise ValueError(f"{', '.join(RESERVED_PAUSE_CODES)} are set by the service itself")
        return value

    def pause_label(self, code: str, lang: str) -> str | None:
        return next((c.label(lang) for c in self.pause_codes if c.code == code), None)


DEFAULT_ROOT_CAUSES = _codes(
    ("pipe_leak", "ท่อแตก/ท่อรั่ว", "Burst or leaking pipe"),
    ("low_pressure", "น้ำไม่ไหล/ไหลอ่อน", "No water or low pressure"),
    ("water_quality", "คุณภาพน้ำ", "Water quality"),
    ("meter_billing", "มาตรวัดน้ำ/ค่าน้ำ", "Meter or bill"),
    ("staff_service", "การให้บริการของพนักงาน", "Staff service"),
    ("works_damage", "งานก่อสร้าง/ซ่อมแซมสร้างความเสียหาย", "Damage from works"),
    ("other", "อื่น ๆ", "Other"),
)


class ReportSettings(BaseModel):
    """Supervisor reports: the root causes a complaint is resolved with (PWA step 9's
    quarterly analysis counts complaints by them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root_causes: list[CodeLabel] = Field(default_factory=lambda: list(DEFAULT_ROOT_CAUSES))

    @field_validator("root_causes")
    @classmethod
    def _unique_causes(cls, value: list[CodeLabel]) -> list[CodeLabel]:
        _unique_codes(value)
        return value

    def root_cause_label(self, code: str, lang: str) -> str:
        """The cause's words, or the code itself once it is no longer configured."""
        return next((c.label(lang) for c in self.root_causes if c.code == code), code)


class Settings(BaseSettings):
    """Everything hotline reads at start. Environment variables are HOTLINE_<NAME>."""

    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; empty starts an embedded server"
    )
    data_dir: Path = Field(default=Path("var"), description="embedded database and state")
    web_host: str = "127.0.0.1"
    web_port: Port = Field(default=8080, ge=1, le=65535)
    agi_host: str = "127.0.0.1"
    agi_port: Port = Field(default=4573, ge=0, le=65535, description="0: any free port (tests)")
    pbx: list[PbxSettings] = Field(default_factory=list)
    timezone: str = "Asia/Bangkok"
    standards: Standards = Field(default_factory=Standards)
    cases: CaseSettings = Field(default_factory=CaseSettings)
    call_control: CallControlSettings = Field(default_factory=CallControlSettings)
    spy: SpySettings = Field(default_factory=SpySettings)
    recording: RecordingSettings = Field(default_factory=RecordingSettings)
    shift: ShiftSettings = Field(default_factory=ShiftSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    survey: dict[str, Any] = Field(
        default_factory=dict, description="ivr.config.SurveySettings, in seconds and HH:MM"
    )
    language: Literal["th", "en"] = "th"
    era: Literal["be", "ce"] = "be"
    session_hours: float = Field(default=10, gt=0, le=24 * 30)
    secure_cookies: bool = False
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    notices: NoticeSettings = Field(default_factory=NoticeSettings)
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("survey")
    @classmethod
    def _valid_survey(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            SurveySettings.from_mapping(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("postgres://", "postgresql://")):
            raise ValueError("must start with postgresql://")
        return value

    @field_validator("pbx")
    @classmethod
    def _unique_pbx_names(cls, value: list[PbxSettings]) -> list[PbxSettings]:
        names = [p.name for p in value]
        if len(names) != len(set(names)):
            raise ValueError("PBX names must be unique")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit values win over the environment, which wins over the TOML file."""
        return (init_settings, env_settings, _FileSource(settings_cls, _file_values.get() or {}))


def _env_name(loc: tuple[int | str, ...]) -> str:
    """The variable that sets `loc`; list items live inside their list's variable."""
    names: list[str] = []
    for part in loc:
        if not isinstance(part, str):
            break
        names.append(part.upper())
    return "HOTLINE_" + "__".join(names)


def describe(error: ValidationError) -> str:
    """The first problem as one line, naming the setting as a person would write it."""
    first = error.errors()[0]
    loc = tuple(first.get("loc", ()))
    dotted = ".".join(str(part) for part in loc) or "settings"
    message = first.get("msg", "invalid value").removeprefix("Value error, ")
    return f"invalid setting {dotted} ({_env_name(loc)}): {message}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise SettingsError(f"configuration file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"configuration file {path} is not valid TOML: {exc}") from exc


def _refuse_secrets_in_file(from_file: dict[str, Any], file_name: Path) -> None:
    """Mail and notice credentials come from the environment only, never a file."""
    secret_paths = [("mail", name) for name in mail_settings.SECRETS] + [
        ("notices", *path) for path in notice_settings.SECRETS
    ]
    for path in secret_paths:
        section: Any = from_file
        for part in path:
            section = section.get(part) if isinstance(section, dict) else None
        if section is not None:
            raise SettingsError(
                f"setting {'.'.join(path)} in {file_name}: secrets are read from the"
                f" environment only ({_env_name(path)})"
            )


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from a TOML file (if any), then the environment, then explicit overrides.

    `DATABASE_URL` is honoured as well as `HOTLINE_DATABASE_URL`, as most hosts set it.
    """
    env = os.environ
    values: dict[str, Any] = {}
    from_file: dict[str, Any] = {}
    file_name = config_file or (Path(env["HOTLINE_CONFIG"]) if env.get("HOTLINE_CONFIG") else None)
    if file_name is not None:
        from_file = _read_toml(file_name)
        unknown = sorted(set(from_file) - set(Settings.model_fields))
        if unknown:
            raise SettingsError(f"unknown setting {unknown[0]} in {file_name}")
        _refuse_secrets_in_file(from_file, file_name)
    if env.get("DATABASE_URL") and not env.get("HOTLINE_DATABASE_URL"):
        values["database_url"] = env["DATABASE_URL"]
    values.update(overrides)
    token = _file_values.set(from_file)
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None
    except PydanticSettingsError as exc:
        # The environment held something that is not even JSON, e.g. HOTLINE_PBX=oops.
        field = str(exc).split('"')[1] if '"' in str(exc) else "settings"
        raise SettingsError(
            f"invalid setting {field} ({_env_name((field,))}): not valid JSON"
        ) from None
    finally:
        _file_values.reset(token)

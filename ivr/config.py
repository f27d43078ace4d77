"""Survey settings: every knob of the outbound satisfaction survey, with the hotline's defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal

SurveyMode = Literal["callback", "in_call"]

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"


@dataclass(frozen=True)
class SurveySettings:
    """Immutable survey configuration; the composition root builds it from its own settings.

    Selection is a union: a call is surveyed when any enabled rule picks it (every answered
    call, every call that got a complaint case, or the random sample).
    """

    enabled: bool = True
    survey_all_answered: bool = True
    survey_complaints: bool = True
    sample_percent: float = 0.0
    mode: SurveyMode = "callback"
    delay_after_hangup: timedelta = timedelta(minutes=2)
    timezone: str = "Asia/Bangkok"
    window_start: time = time(8, 0)
    window_end: time = time(20, 0)
    call_on_holidays: bool = False
    call_on_weekends: bool = True
    max_channels: int = 2
    max_attempts: int = 3
    backoff: tuple[timedelta, ...] = (timedelta(minutes=15), timedelta(hours=1))
    expiry_working_days: int = 3
    min_days_between_surveys: int = 30
    dial_template: str = "PJSIP/{number}@trunk"
    context: str = "survey"
    exten: str = "s"
    priority: int = 1
    caller_id: str = '"Hotline Survey" <1169>'
    ring_timeout_ms: int = 30_000
    language: str = "th"
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    # Who may open a FastAGI session (addresses, networks or host names); empty: the
    # configured PBX hosts and loopback (the composition root fills them in).
    agi_allowed_peers: tuple[str, ...] = ()
    agi_header_timeout_s: float = 5.0
    agi_command_timeout_s: float = 60.0
    digit_timeout_ms: int = 6_000
    max_prompts: int = 3
    opt_out_digit: str = "9"
    sounds_dir: str = field(default=str(PROMPTS_DIR))
    poll_interval_s: float = 5.0
    dial_lease: timedelta = timedelta(minutes=2)
    session_lease: timedelta = timedelta(minutes=5)
    satisfaction_target_percent: float = 85.0
    followup_pbx: str = ""

    def __post_init__(self) -> None:
        if not self.window_start < self.window_end:
            raise ValueError("calling hours must start before they end")
        if not 0 <= self.sample_percent <= 100:
            raise ValueError("sample_percent must be within 0..100")
        if self.max_attempts < 1 or self.max_channels < 1 or self.max_prompts < 1:
            raise ValueError("max_attempts, max_channels and max_prompts must be at least 1")
        if self.dial_lease <= timedelta(milliseconds=self.ring_timeout_ms):
            raise ValueError(
                "dial_lease must outlast the ring timeout, or a live call is redialled"
            )
        if "{number}" not in self.dial_template:
            raise ValueError("dial_template needs a {number} placeholder")
        if self.mode not in ("callback", "in_call"):
            raise ValueError("mode is callback or in_call")

    def dial_string(self, number: str) -> str:
        """The Originate Channel for a normalised number."""
        return self.dial_template.format(number=number)

    def backoff_after(self, attempts_done: int) -> timedelta:
        """Delay before the next attempt once `attempts_done` attempts failed."""
        if not self.backoff:
            return timedelta(0)
        return self.backoff[min(max(attempts_done, 1), len(self.backoff)) - 1]

    def sound(self, language: str, name: str) -> str:
        """Path Asterisk plays for a prompt (no extension, as Playback and GET DATA expect)."""
        return f"{self.sounds_dir}/{language}/{name}"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> SurveySettings:
        """Build from plain TOML/JSON values: durations in seconds (`backoff` a list of them),
        calling hours as "HH:MM"; an unknown key is an error, not silently ignored."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown survey settings: {', '.join(unknown)}")
        converted: dict[str, Any] = {}
        for name, value in values.items():
            default = getattr(cls, name, None)
            if isinstance(default, timedelta):
                converted[name] = timedelta(seconds=float(value))
            elif isinstance(default, time):
                converted[name] = time.fromisoformat(str(value))
            elif name == "backoff":
                converted[name] = tuple(timedelta(seconds=float(v)) for v in value)
            elif name == "agi_allowed_peers":
                converted[name] = tuple(str(v) for v in value)
            else:
                converted[name] = value
        return cls(**converted)

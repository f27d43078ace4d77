"""Connection settings for one PBX's AMI account."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class PbxConfig:
    """One Asterisk PBX. Intervals are seconds; the secret never appears in repr or logs.

    A stalled link is cut at most ping_interval + ping_timeout after its last answer (under
    the 5 s operators expect); reconnects wait at most reconnect_max. With `tls` the link
    verifies the PBX's certificate against `tls_ca_file` (else the system's CAs) and its
    name against `tls_server_name` (else `host`).
    """

    name: str
    host: str
    port: int
    username: str
    secret: str = field(repr=False)
    ping_interval: float = 2.0
    ping_timeout: float = 2.0
    action_timeout: float = 10.0
    reconnect_min: float = 0.5
    reconnect_max: float = 3.0
    tls: bool = False
    tls_ca_file: Path | None = None
    tls_server_name: str | None = None

    def __post_init__(self) -> None:
        if not 0 < self.reconnect_min <= self.reconnect_max:
            raise ValueError("need 0 < reconnect_min <= reconnect_max")
        if self.ping_interval <= 0 or self.ping_timeout <= 0 or self.action_timeout <= 0:
            raise ValueError("intervals and timeouts must be positive")
        if any(c in self.username + self.secret for c in "\r\n"):
            raise ValueError("CR/LF in AMI credentials")
        if not self.tls and (self.tls_ca_file or self.tls_server_name):
            raise ValueError("tls_ca_file and tls_server_name need tls")

"""The client side of AMI over TLS: one way to build the context, with verification on.

There is deliberately no switch to skip certificate or host name checks: an AMI session
carries callers' numbers and the account's secret, and an unverified TLS link would hand
both to whoever sits in between.
"""

from __future__ import annotations

import ssl
from pathlib import Path


def client_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """A context that verifies the PBX's certificate and name.

    With `ca_file` (a private CA) only that bundle is trusted, not the system's store.
    Raises ssl.SSLError or OSError when the bundle cannot be read as certificates.
    """
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)


def refusal(exc: ssl.SSLError) -> str:
    """Why a TLS connection failed, in words an operator can act on."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate refused: {exc.verify_message}"
    if exc.reason == "WRONG_VERSION_NUMBER":
        return "TLS handshake failed: the PBX answered without TLS (its plain AMI port?)"
    return f"TLS handshake failed: {exc.reason or exc}"

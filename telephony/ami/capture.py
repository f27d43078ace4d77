"""Reader for the recorded AMI captures in ami-traces/ (tests and the simulator's replay).

A capture interleaves comment lines (`# rx`, `# tx`, `# > Key: Value`, `# note`, headers) with
the raw bytes Asterisk sent. Received bytes are returned exactly as stored, so a replay puts
on the wire what a real Asterisk put there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

_STAMP = re.compile(rb"^# (rx|tx) (\S+) t=\+([0-9.]+)s(?: \((.*)\))?\r?\n$")
_NOTE = re.compile(rb"^# note t=\+([0-9.]+)s ?(.*?)\r?\n$")
_ACTION_LINE = b"# > "

Kind = Literal["rx", "tx", "note"]


@dataclass(frozen=True, slots=True)
class CaptureItem:
    """One step of a capture.

    rx: `data` is the message exactly as received (the banner is its one line only).
    tx: `data` is the action the recorder sent, re-encoded with CRLF.
    note: a scenario step marker; `text` says what happened, `data` is empty.
    """

    kind: Kind
    offset: float
    at: datetime | None
    data: bytes
    text: str = ""

    @property
    def is_banner(self) -> bool:
        return self.kind == "rx" and self.text == "banner line"


def read_capture(path: str | Path) -> list[CaptureItem]:
    lines = Path(path).read_bytes().splitlines(keepends=True)
    items: list[CaptureItem] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        stamp = _STAMP.match(line)
        if stamp is not None:
            kind, at, offset, text = stamp.groups()
            body: list[bytes] = []
            prefix_ok = _ACTION_LINE if kind == b"tx" else None
            while i < len(lines) and _belongs(lines[i], prefix_ok):
                body.append(lines[i])
                i += 1
                if not lines[i - 1].strip():
                    break
            items.append(
                CaptureItem(
                    kind="rx" if kind == b"rx" else "tx",
                    offset=float(offset),
                    at=datetime.fromisoformat(at.decode().replace("Z", "+00:00")),
                    data=_item_data(kind, body, text),
                    text=(text or b"").decode(),
                )
            )
            continue
        note = _NOTE.match(line)
        if note is not None:
            items.append(
                CaptureItem(
                    kind="note",
                    offset=float(note.group(1)),
                    at=None,
                    data=b"",
                    text=note.group(2).decode("utf-8", "replace"),
                )
            )
    return items


def _belongs(line: bytes, action_prefix: bytes | None) -> bool:
    """Whether a line continues the current item: AMI data for rx, `# >` lines for tx."""
    if action_prefix is not None:
        return line.startswith(action_prefix)
    return not line.startswith(b"#")


def _item_data(kind: bytes, body: list[bytes], text: bytes | None) -> bytes:
    if kind == b"tx":
        return b"".join(line[len(_ACTION_LINE) :].rstrip(b"\r\n") + b"\r\n" for line in body) + (
            b"\r\n"
        )
    if text == b"banner line":
        return body[0] if body else b""
    return b"".join(body)

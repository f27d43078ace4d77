"""AMI frames that parse but cannot be part of a call: counted by reason, logged sparingly.

A PBX (or whatever sits between it and hotline) can send a flood of such frames; one log
line per frame would bury everything else, and none would hide them. So every reason is
counted for /metrics, and logged at most once per interval (of the frames' own time) with
how many were left unsaid since the last line.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import structlog

log = structlog.get_logger()

LOG_EVERY_S = 60.0


class Rejects:
    """The rejected frames of one PBX."""

    def __init__(self, pbx: str, *, log_every_s: float = LOG_EVERY_S) -> None:
        self.pbx = pbx
        self.counts: Counter[str] = Counter()
        self._log_every_s = log_every_s
        self._logged_at: dict[str, datetime] = {}
        self._unsaid: Counter[str] = Counter()

    def note(self, reason: str, at: datetime, ami_event: str, detail: str) -> None:
        """Count one rejected frame; log it unless this reason was logged very recently."""
        self.counts[reason] += 1
        last = self._logged_at.get(reason)
        if last is not None and abs((at - last).total_seconds()) < self._log_every_s:
            self._unsaid[reason] += 1
            return
        self._logged_at[reason] = at
        log.warning(
            "ami_frame_rejected",
            pbx=self.pbx,
            reason=reason,
            ami_event=ami_event[:60],
            detail=detail[:200],
            not_logged_since=self._unsaid.pop(reason, 0),
        )

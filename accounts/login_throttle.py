"""Login throttling: after a few failed logins for one username, or from one address, each
further try must wait, twice as long after every failure, up to a cap.

Kept in memory, not PostgreSQL: hotline is one process (one composition root), a flood of
failed logins must not become a flood of database writes, and a restart forgetting the
counters gives an attacker back at most a handful of tries. A username that does not exist
is counted exactly like one that does, so the throttle does not tell which names are real.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

# Beyond this many tracked names and addresses, the ones idle longest are forgotten first.
MAX_TRACKED = 50_000


@dataclass(frozen=True)
class ThrottleRules:
    free_per_username: int = 5
    free_per_address: int = 20
    first_wait_s: float = 1.0
    max_wait_s: float = 900.0

    def wait_after(self, failures: int, free: int) -> timedelta:
        """How long the next try waits after `failures` failures in a row."""
        if failures < free:
            return timedelta(0)
        return timedelta(seconds=min(self.first_wait_s * 2 ** (failures - free), self.max_wait_s))


@dataclass
class _Failures:
    count: int
    last: datetime
    until: datetime


class LoginThrottle:
    """Counts failed logins per username and per address; says how long the next must wait."""

    def __init__(self, rules: ThrottleRules) -> None:
        self.rules = rules
        self._seen: dict[tuple[str, str], _Failures] = {}

    def wait_s(self, username: str, address: str, now: datetime) -> int:
        """Whole seconds before this username may try from this address (0: it may now)."""
        waits = [
            (entry.until - now).total_seconds()
            for entry in (self._seen.get(("user", username)), self._seen.get(("addr", address)))
            if entry is not None
        ]
        return max((math.ceil(w) for w in waits if w > 0), default=0)

    def failed(self, username: str, address: str, now: datetime) -> None:
        self._count(("user", username), self.rules.free_per_username, now)
        self._count(("addr", address), self.rules.free_per_address, now)

    def succeeded(self, username: str) -> None:
        """The right password: the username starts afresh (its address does not)."""
        self._seen.pop(("user", username), None)

    def _count(self, key: tuple[str, str], free: int, now: datetime) -> None:
        entry = self._seen.pop(key, None)
        if entry is not None and now - entry.last > self._forget_after:
            entry = None
        count = 1 if entry is None else entry.count + 1
        self._seen[key] = _Failures(count, now, now + self.rules.wait_after(count, free))
        while len(self._seen) > MAX_TRACKED:
            del self._seen[next(iter(self._seen))]

    @property
    def _forget_after(self) -> timedelta:
        """Failures this far apart are not a run: the count starts again."""
        return timedelta(seconds=2 * self.rules.max_wait_s)

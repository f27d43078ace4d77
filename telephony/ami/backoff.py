"""How long a link waits before its next connection attempt.

A contact centre is blind while its link is down, so the first retry after a working
connection is immediate (most drops are one lost TCP session), and later ones wait at most a
few seconds: doubling from `first` up to `cap`. Each wait is jittered so several instances
(or links) that lost the PBX together do not hammer it in step when it comes back.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delays for successive failed attempts; `reset()` after every connection that worked."""

    def __init__(self, first: float, cap: float, draw: Callable[[], float] = random.random):
        self._first = first
        self._cap = cap
        self._draw = draw
        self._failures = 0

    def reset(self) -> None:
        self._failures = 0

    def next_delay(self) -> float:
        """0 for the first retry, then a random delay in [d/2, d], d doubling up to `cap`."""
        failures, self._failures = self._failures, self._failures + 1
        if failures == 0:
            return 0.0
        ceiling = min(self._cap, self._first * 2 ** (failures - 1))
        return ceiling * (0.5 + self._draw() / 2)

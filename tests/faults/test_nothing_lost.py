"""Issue 11's fault-injection suite, small: each scenario of `make faults` (AMI cuts, a
kill of a real `hotline serve`, PostgreSQL stopped, fuzzed frames) loses, doubles,
misreports and invents no call and owes no survey, counted against the simulator's own
record. The sizes are bench.faults.SHORT; the waits are on conditions, never on time."""

from __future__ import annotations

import pytest

from bench.faults import SCENARIOS, SHORT

MUST_BE_ZERO = ("lost", "doubled", "wrong outcome", "surveys lost", "phoned twice", "phantom calls")


# The kill and PostgreSQL-outage scenarios take a minute of their own: `make faults` runs them.
@pytest.mark.parametrize("name", ["cuts", "fuzz"])
async def test_nothing_is_lost_under_the_fault(name: str) -> None:
    counts, what = await SCENARIOS[name](SHORT)
    assert counts["calls"] >= SHORT.calls, what
    assert {k: counts[k] for k in MUST_BE_ZERO} == dict.fromkeys(MUST_BE_ZERO, 0), what

"""What one agent's panel shows: their availability and the call in front of them.

The desk is the server's truth for every open panel of an agent, so a reload or a second
tab shows the same pop, phase and timers. It keeps what only the panel knows (the call's
phases, its wrap-up, the case); the agent's queues are the floor's (calls.floor).
Transitions take the time as an argument and report whether anything visible changed;
storing and publishing are the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from agent_ui.phases import Phase, next_phase
from calls.floor import Membership

Availability = Literal["ready", "paused", "logged_out"]
CallStatus = Literal["ringing", "talking", "held", "wrapup"]


@dataclass
class PhaseMark:
    """A phase the call entered, and when."""

    phase: Phase
    at: datetime


@dataclass
class DeskCall:
    """The queue call on the agent's desk, from the ring to the end of wrap-up."""

    call_key: str
    pbx: str
    queue: str
    caller_number: str
    caller_name: str
    pop: dict[str, Any]
    rang_at: datetime
    status: CallStatus = "ringing"
    answered_at: datetime | None = None
    phases: list[PhaseMark] = field(default_factory=list)
    held_since: datetime | None = None
    transferred_to: str | None = None
    ended_at: datetime | None = None
    wrapup_until: datetime | None = None
    case_id: int | None = None
    case_reference: str | None = None
    # The agent's phone, and whether the PBX keeps them out of the queue for this wrap-up.
    interface: str = ""
    kept_out: bool = False
    hold_seen: bool = False

    @property
    def phase(self) -> Phase | None:
        return self.phases[-1].phase if self.phases else None

    def as_json(self) -> dict[str, Any]:
        return {
            "call_key": self.call_key,
            "pbx": self.pbx,
            "queue": self.queue,
            "caller_number": self.caller_number,
            "caller_name": self.caller_name,
            "pop": self.pop,
            "status": self.status,
            "rang_at": self.rang_at.isoformat(),
            "answered_at": _iso(self.answered_at),
            "phase": self.phase.value if self.phase else None,
            "phases": [{"phase": m.phase.value, "at": m.at.isoformat()} for m in self.phases],
            "held_since": _iso(self.held_since),
            "transferred_to": self.transferred_to,
            "ended_at": _iso(self.ended_at),
            "wrapup_until": _iso(self.wrapup_until),
            "case_id": self.case_id,
            "case_reference": self.case_reference,
            "kept_out": self.kept_out,
        }


@dataclass
class Desk:
    """One agent's availability and current call."""

    user_id: int
    since: datetime
    availability: Availability = "logged_out"
    reason: str = ""
    call: DeskCall | None = None

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {
            "now": now.isoformat(),
            "availability": self.availability,
            "reason": self.reason,
            "since": self.since.isoformat(),
            "call": self.call.as_json() if self.call else None,
        }

    def set_availability(self, availability: Availability, reason: str, at: datetime) -> bool:
        """Change availability; the timer restarts only when it really changed."""
        reason = reason if availability == "paused" else ""
        if (availability, reason) == (self.availability, self.reason):
            return False
        self.availability, self.reason, self.since = availability, reason, at
        return True

    def accepts_ring(self, call_key: str) -> bool:
        """Whether a ring pops: the same call ringing again (a replay, a retry) pops nothing
        new, and a second call never takes the place of one the agent is talking on."""
        current = self.call
        return current is None or (
            current.call_key != call_key and current.status not in ("talking", "held")
        )

    def ring(self, call: DeskCall) -> bool:
        if not self.accepts_ring(call.call_key):
            return False
        self.call = call
        return True

    def current(self, call_key: str) -> DeskCall | None:
        """The desk's call if it is `call_key`."""
        return self.call if self.call is not None and self.call.call_key == call_key else None

    def answer(self, call_key: str, at: datetime) -> DeskCall | None:
        """The agent picked up: the greeting starts now."""
        call = self.current(call_key)
        if call is None or call.status != "ringing":
            return None
        call.status, call.answered_at = "talking", at
        call.phases.append(PhaseMark(Phase.GREETING, at))
        return call

    def advance(self, at: datetime) -> PhaseMark | None:
        """The agent moves the talking call to its next phase."""
        call = self.call
        if call is None or call.phase is None or call.status not in ("talking", "held"):
            return None
        following = next_phase(call.phase)
        if following is None:
            return None
        mark = PhaseMark(following, at)
        call.phases.append(mark)
        return mark

    def hold(self, call_key: str, at: datetime, held: bool) -> DeskCall | None:
        call = self.current(call_key)
        if call is None or call.status not in ("talking", "held"):
            return None
        call.status, call.held_since = ("held", at) if held else ("talking", None)
        return call

    def hang_up(self, call_key: str, at: datetime, wrapup_s: float) -> DeskCall | None:
        """The call ended: talk phases close and after-call work starts."""
        call = self.current(call_key)
        if call is None or call.status not in ("talking", "held"):
            return None
        if call.phase is not Phase.DONE:
            call.phases.append(PhaseMark(Phase.DONE, at))
        call.phases.append(PhaseMark(Phase.WRAPUP, at))
        call.status, call.held_since, call.ended_at = "wrapup", None, at
        call.wrapup_until = at + timedelta(seconds=wrapup_s)
        return call

    def clear(self, call_key: str) -> DeskCall | None:
        """The call leaves the desk (rang elsewhere, abandoned, or wrap-up over)."""
        call = self.current(call_key)
        if call is not None:
            self.call = None
        return call


def pbx_availability(member: Membership | None) -> tuple[Availability, str]:
    """The availability (and pause reason) the PBX's report means: out of every queue is
    logged out, whatever the state it last had."""
    if member is None or not member.queues:
        return "logged_out", ""
    return ("paused", member.reason) if member.paused else ("ready", "")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None

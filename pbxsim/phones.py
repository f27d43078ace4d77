"""Behaviours of the simulated phones: agents in the queue, customers called for the survey."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["answer", "busy", "noanswer", "congestion", "invalid"]


@dataclass(frozen=True)
class AgentPhone:
    """An agent's handset. `answer_after=None`: it rings until `sim.answer()` or the timeout."""

    answer_after: float | None = 2.0

    @classmethod
    def answers_after(cls, seconds: float) -> AgentPhone:
        return cls(answer_after=seconds)

    @classmethod
    def manual(cls) -> AgentPhone:
        return cls(answer_after=None)

    never_answers = manual


@dataclass(frozen=True)
class Keypress:
    """One DTMF digit, pressed `after` seconds into the prompt that waits for it."""

    digit: str
    after: float = 1.0


@dataclass(frozen=True)
class CustomerPhone:
    """A customer's phone as an Originate target.

    busy -> OriginateResponse Reason 0 and Hangup cause 17 (what Asterisk 22 really sends);
    noanswer -> Reason 3 at the Originate timeout; congestion -> Reason 0, cause 34;
    invalid -> Reason 0 with no channel at all (unknown endpoint).
    """

    outcome: Outcome = "answer"
    ring: float = 1.0
    keys: tuple[Keypress, ...] = field(default_factory=tuple)
    hangup_after: float | None = None

    @classmethod
    def answers(cls, *digits: str, ring: float = 1.0, after: float = 2.0) -> CustomerPhone:
        return cls("answer", ring, tuple(Keypress(d, after) for d in digits))

    @classmethod
    def wrong_then_right(
        cls, wrong: str, right: str, ring: float = 1.0, after: float = 2.0
    ) -> CustomerPhone:
        """Presses an invalid key first, then the intended one at the next prompt."""
        return cls.answers(wrong, right, ring=ring, after=after)

    @classmethod
    def silent(cls, ring: float = 1.0) -> CustomerPhone:
        return cls("answer", ring)

    @classmethod
    def hangs_up(cls, after: float, ring: float = 1.0) -> CustomerPhone:
        return cls("answer", ring, hangup_after=after)

    @classmethod
    def busy(cls) -> CustomerPhone:
        return cls("busy")

    @classmethod
    def no_answer(cls) -> CustomerPhone:
        return cls("noanswer")

    @classmethod
    def congested(cls) -> CustomerPhone:
        return cls("congestion")

    @classmethod
    def unknown(cls) -> CustomerPhone:
        return cls("invalid")

"""Call phases and their standards: which phase follows which, and what colour a timer shows.

Pure logic, so the server and its tests agree on the thresholds; the browser only compares
a running timer with the `amber_at`/`red_at` figures computed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Phase(StrEnum):
    """The steps of an answered call (DITP 1169), plus the after-call work."""

    GREETING = "greeting"
    INQUIRY = "inquiry"
    CLOSING = "closing"
    DONE = "done"
    WRAPUP = "wrapup"


class Colour(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


_NEXT: dict[Phase, Phase] = {
    Phase.GREETING: Phase.INQUIRY,
    Phase.INQUIRY: Phase.CLOSING,
    Phase.CLOSING: Phase.DONE,
}

TIMED_PHASES: tuple[Phase, ...] = (Phase.GREETING, Phase.INQUIRY, Phase.CLOSING)


def next_phase(phase: Phase) -> Phase | None:
    """The phase the agent moves to from `phase`; None once the talk is done."""
    return _NEXT.get(phase)


@dataclass(frozen=True, slots=True)
class PhaseStandard:
    """How long a phase should last. Amber warns once `amber_ratio` of the maximum is used."""

    max_s: float
    min_s: float = 0.0
    amber_ratio: float = 0.8

    def __post_init__(self) -> None:
        if self.max_s <= 0 or self.min_s < 0 or self.min_s > self.max_s:
            raise ValueError("a phase standard needs 0 <= min_s <= max_s and max_s > 0")
        if not 0 < self.amber_ratio <= 1:
            raise ValueError("amber_ratio must be in (0, 1]")

    @property
    def amber_at(self) -> float:
        return max(self.min_s, self.max_s * self.amber_ratio)

    def colour(self, elapsed_s: float) -> Colour:
        """Green within the standard, amber close to its end, red once past it."""
        if elapsed_s > self.max_s:
            return Colour.RED
        if elapsed_s >= self.amber_at:
            return Colour.AMBER
        return Colour.GREEN

    def complies(self, duration_s: float) -> bool:
        """Whether a finished phase met the standard (an inquiry can also be too short)."""
        return self.min_s <= duration_s <= self.max_s

    def as_json(self) -> dict[str, float]:
        return {"min_s": self.min_s, "max_s": self.max_s, "amber_at": self.amber_at}


@dataclass(frozen=True, slots=True)
class PhaseStandards:
    """The standard of each timed phase and of wrap-up, from the service settings.

    `wrapup` is None when the configured wrap-up time is zero: after-call work then ends
    at hang-up.
    """

    greeting: PhaseStandard
    inquiry: PhaseStandard
    closing: PhaseStandard
    wrapup: PhaseStandard | None

    @classmethod
    def from_limits(
        cls,
        *,
        greeting_max_s: float,
        inquiry_min_s: float,
        inquiry_max_s: float,
        closing_max_s: float,
        wrapup_s: float,
    ) -> PhaseStandards:
        return cls(
            greeting=PhaseStandard(max_s=greeting_max_s),
            inquiry=PhaseStandard(min_s=inquiry_min_s, max_s=inquiry_max_s),
            closing=PhaseStandard(max_s=closing_max_s),
            wrapup=PhaseStandard(max_s=wrapup_s) if wrapup_s > 0 else None,
        )

    def for_phase(self, phase: Phase) -> PhaseStandard | None:
        """The standard of `phase`; `done` has none."""
        return {
            Phase.GREETING: self.greeting,
            Phase.INQUIRY: self.inquiry,
            Phase.CLOSING: self.closing,
            Phase.WRAPUP: self.wrapup,
        }.get(phase)

    def as_json(self) -> dict[str, dict[str, float]]:
        return {
            phase.value: standard.as_json()
            for phase in (*TIMED_PHASES, Phase.WRAPUP)
            if (standard := self.for_phase(phase)) is not None
        }

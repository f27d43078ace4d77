"""Phase order and timer colours against the standards."""

from __future__ import annotations

import pytest

from agent_ui.phases import Colour, Phase, PhaseStandard, PhaseStandards, next_phase


def test_phases_follow_greeting_inquiry_closing_then_done() -> None:
    assert next_phase(Phase.GREETING) is Phase.INQUIRY
    assert next_phase(Phase.INQUIRY) is Phase.CLOSING
    assert next_phase(Phase.CLOSING) is Phase.DONE
    assert next_phase(Phase.DONE) is None


@pytest.mark.parametrize(
    ("elapsed", "colour"),
    [
        (0, Colour.GREEN),
        (23.9, Colour.GREEN),
        (24, Colour.AMBER),
        (30, Colour.AMBER),
        (30.1, Colour.RED),
    ],
)
def test_greeting_timer_colours(elapsed: float, colour: Colour) -> None:
    assert PhaseStandard(max_s=30).colour(elapsed) is colour


def test_an_inquiry_is_compliant_only_between_five_and_twenty_minutes() -> None:
    inquiry = PhaseStandard(min_s=300, max_s=1200)
    assert not inquiry.complies(299)
    assert inquiry.complies(300) and inquiry.complies(1200)
    assert not inquiry.complies(1201)
    assert inquiry.colour(200) is Colour.GREEN
    assert inquiry.colour(1000) is Colour.AMBER


def test_standards_from_settings_and_no_wrapup_when_zero() -> None:
    standards = PhaseStandards.from_limits(
        greeting_max_s=30, inquiry_min_s=300, inquiry_max_s=1200, closing_max_s=30, wrapup_s=0
    )
    assert standards.for_phase(Phase.WRAPUP) is None
    assert standards.for_phase(Phase.DONE) is None
    assert standards.as_json()["inquiry"] == {"min_s": 300, "max_s": 1200, "amber_at": 960}
    assert "wrapup" not in standards.as_json()


def test_a_standard_with_its_minimum_above_its_maximum_is_refused() -> None:
    with pytest.raises(ValueError):
        PhaseStandard(min_s=40, max_s=30)

"""The transition table: what each role may do to a case in each status."""

from __future__ import annotations

import pytest

from cases.errors import AccessDenied, InvalidCaseData, TransitionNotAllowed
from cases.lifecycle import (
    TRANSITIONS,
    Action,
    Move,
    Role,
    Status,
    allowed_actions,
    check_move,
)


def test_the_iso_10002_path_from_receipt_to_closing() -> None:
    status = Status.RECEIVED
    path = [
        (Move(Action.ACKNOWLEDGE), Role.AGENT),
        (Move(Action.ASSESS), Role.AGENT),
        (Move(Action.FORWARD, unit_id=3), Role.AGENT),
        (Move(Action.START), Role.UNIT),
        (Move(Action.RESOLVE, decision="refund", decision_reasons="meter fault"), Role.UNIT),
        (Move(Action.NOTIFY), Role.AGENT),
        (Move(Action.CLOSE), Role.AGENT),
    ]
    for move, role in path:
        status = check_move(status, role, move)
    assert status is Status.CLOSED
    assert check_move(status, Role.SUPERVISOR, Move(Action.REOPEN, note="caller disagrees")) == (
        Status.IN_PROGRESS
    )


def test_closing_an_unresolved_case_is_refused_with_a_stable_code() -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        check_move(Status.IN_PROGRESS, Role.SUPERVISOR, Move(Action.CLOSE))
    assert info.value.code == "transition_not_allowed"
    assert "in_progress" in info.value.message


def test_resolving_needs_a_decision_and_its_reasons() -> None:
    with pytest.raises(InvalidCaseData) as info:
        check_move(Status.IN_PROGRESS, Role.UNIT, Move(Action.RESOLVE, decision="  "))
    assert info.value.field_errors == {"decision": "required", "decision_reasons": "required"}


def test_a_unit_user_cannot_forward_or_close() -> None:
    with pytest.raises(AccessDenied):
        check_move(Status.ASSESSED, Role.UNIT, Move(Action.FORWARD, unit_id=1))
    assert Action.CLOSE not in allowed_actions(Status.NOTIFIED, Role.UNIT)
    assert allowed_actions(Status.FORWARDED, Role.UNIT) == [
        Action.START,
        Action.RETURN,
        Action.RESOLVE,
    ]


def test_forward_needs_a_unit_and_reopen_needs_a_reason() -> None:
    with pytest.raises(InvalidCaseData) as info:
        check_move(Status.ASSESSED, Role.AGENT, Move(Action.FORWARD))
    assert info.value.field_errors == {"unit_id": "required"}
    with pytest.raises(InvalidCaseData):
        check_move(Status.CLOSED, Role.AGENT, Move(Action.REOPEN))


def test_the_documented_transition_table_is_the_one_in_the_code() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "cases.md").read_text(encoding="utf-8")
    rows = {
        cells[0]: cells[1:3]
        for line in doc.splitlines()
        if line.startswith("| ") and (cells := [c.strip() for c in line.strip("|").split("|")])
    }
    for action, rule in TRANSITIONS.items():
        sources, target = rows[action.value]
        assert set(sources.split(", ")) == {s.value for s in rule.sources}, action
        assert target == rule.target.value, action

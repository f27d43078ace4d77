"""Case settings: defaults, overrides, and refusals of impossible values."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from pydantic import ValidationError

from cases.lifecycle import CaseType
from cases.settings import CaseSettings
from cases.working_days import BANGKOK


def test_defaults_follow_the_tpqi_procedure() -> None:
    settings = CaseSettings()
    policy = settings.policy(BANGKOK)
    assert policy.working_days_for(CaseType.INFORMATION_KB) == 1
    assert policy.working_days_for(CaseType.INFORMATION_UNIT) == 2
    assert policy.working_days_for(CaseType.COMPLAINT) == 3
    assert policy.working_days_for(CaseType.COMPLIMENT) is None
    assert [level.name for level in settings.chain()] == [
        "unit_head",
        "director",
        "deputy_governor",
    ]


def test_overrides_change_due_times() -> None:
    settings = CaseSettings.model_validate(
        {
            "sla_days": {"complaint": 5},
            "office_closes": "17:00",
            "closed_days": ["2026-11-23"],
        }
    )
    received = datetime(2026, 11, 20, 10, 0, tzinfo=BANGKOK)
    # Fri + 5 working days, skipping Mon 23 (closed) = Mon 30 Nov at 17:00.
    assert settings.policy(BANGKOK).due_at(CaseType.COMPLAINT, received) == datetime(
        2026, 11, 30, 17, 0, tzinfo=BANGKOK
    )
    assert settings.policy(BANGKOK).working_days_for(CaseType.INFORMATION_KB) == 1
    assert settings.calendar(BANGKOK).closed_days == frozenset({date(2026, 11, 23)})


@pytest.mark.parametrize(
    "values",
    [
        {"sla_days": {"compliment": 2}},
        {"sla_days": {"complaint": 0}},
        {"sla_days": {"unknown": 1}},
        {"office_opens": "17:00", "office_closes": "08:00"},
        {"escalation_chain": []},
        {"retention_years": 0},
    ],
)
def test_impossible_settings_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CaseSettings.model_validate(values)


def test_office_hours_are_times() -> None:
    assert CaseSettings(office_opens=time(9, 0)).calendar(BANGKOK).opens == time(9, 0)

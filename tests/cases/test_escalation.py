"""Escalation of overdue cases through the chain, driven by an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cases.escalation import DEFAULT_CHAIN, EscalationJob, target_level, visible_escalations
from cases.lifecycle import Action, CaseType, Move
from cases.models import Escalation
from cases.repository import CaseRepository
from cases.working_days import BANGKOK, WorkingCalendar
from runtime.clock import ManualClock
from tests.cases.factories import NOW, People, complaint_form, forward


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=BANGKOK)


async def forwarded_complaint(repo: CaseRepository, people: People, **form: object) -> int:
    case = await repo.create_case(complaint_form(**form), actor=people.agent, now=NOW)
    await forward(repo, case.id, people.unit_id, people.agent)
    return case.id


async def test_an_overdue_complaint_climbs_the_chain_level_by_level(
    repo: CaseRepository, people: People
) -> None:
    heard: list[Escalation] = []

    async def notify(escalation: Escalation) -> None:
        heard.append(escalation)

    case_id = await forwarded_complaint(repo, people)  # due Wed 25 Nov 16:30
    job = EscalationJob(repo.pool, WorkingCalendar(), notify=notify)
    clock = ManualClock(at(25, 16))
    assert await job.run_once(clock.now()) == []
    clock.set(at(25, 17))
    first = await job.run_once(clock.now())
    assert [(e.level, e.level_name) for e in first] == [(1, "unit_head")]
    assert await job.run_once(clock.now()) == []  # the same level is never raised twice
    clock.set(at(27))  # two working days late
    assert [e.level_name for e in await job.run_once(clock.now())] == ["director"]
    clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=BANGKOK))  # five working days late
    assert [e.level_name for e in await job.run_once(clock.now())] == ["deputy_governor"]
    assert [e.level for e in heard] == [1, 2, 3]
    case = await repo.get_case(case_id, people.supervisor)
    assert case.escalation_level == 3
    escalate_events = [e for e in await repo.history(case_id) if e.action == "escalate"]
    assert [e.data["level_name"] for e in escalate_events] == [c.name for c in DEFAULT_CHAIN]


async def test_a_job_that_was_down_catches_up_every_missed_level(
    repo: CaseRepository, people: People
) -> None:
    await forwarded_complaint(repo, people)
    job = EscalationJob(repo.pool, WorkingCalendar())
    done = await job.run_once(at(28) + timedelta(days=3))  # Tue 1 Dec: 4 working days late
    assert [e.level for e in done] == [1, 2]


async def test_escalation_stops_once_the_case_is_resolved(
    repo: CaseRepository, people: People
) -> None:
    case_id = await forwarded_complaint(repo, people)
    job = EscalationJob(repo.pool, WorkingCalendar())
    assert len(await job.run_once(at(26))) == 1
    await repo.transition(
        case_id,
        Move(
            Action.RESOLVE,
            decision="fixed",
            decision_reasons="pipe repaired",
            root_cause="pipe_leak",
        ),
        actor=people.unit,
        now=at(26),
    )
    assert await job.run_once(at(30)) == []


async def test_a_significant_complaint_reaches_senior_management_at_once(
    repo: CaseRepository, people: People
) -> None:
    await repo.create_case(complaint_form(significant=True), actor=people.agent, now=NOW)
    await repo.create_case(
        complaint_form(significant=True, case_type=CaseType.INFORMATION_UNIT),
        actor=people.agent,
        now=NOW,
    )
    done = await EscalationJob(repo.pool, WorkingCalendar()).run_once(NOW)
    assert [e.level_name for e in done] == ["unit_head", "director", "deputy_governor"]
    assert {e.reason for e in done} == {"significant"}


async def test_escalations_are_visible_to_those_concerned_only(
    repo: CaseRepository, people: People
) -> None:
    case_id = await forwarded_complaint(repo, people)
    await EscalationJob(repo.pool, WorkingCalendar()).run_once(at(26))
    for actor, expected in (
        (people.supervisor, [case_id]),
        (people.unit, [case_id]),
        (people.agent, [case_id]),
        (people.other_unit, []),
        (people.other_agent, []),
    ):
        seen = await visible_escalations(repo.pool, actor)
        assert [e.case_id for e in seen] == expected, actor


@settings(max_examples=150, deadline=None)
@given(
    due=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    first=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
    more=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
)
def test_the_target_level_only_rises_with_time_and_never_passes_the_top(
    due: datetime, first: timedelta, more: timedelta
) -> None:
    calendar = WorkingCalendar()
    earlier = target_level(DEFAULT_CHAIN, calendar, due, due + first, False)
    later = target_level(DEFAULT_CHAIN, calendar, due, due + first + more, False)
    assert 0 <= earlier <= later <= len(DEFAULT_CHAIN)
    assert target_level(DEFAULT_CHAIN, calendar, due, due - first, False) == 0
    assert target_level(DEFAULT_CHAIN, calendar, None, due, True) == len(DEFAULT_CHAIN)

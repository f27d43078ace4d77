"""Cases in PostgreSQL: intake, lifecycle with its audit trail, screen-pop history, survey
hand-off."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from cases.errors import AccessDenied, InvalidCaseData, TransitionNotAllowed, UnitNotFound
from cases.lifecycle import Action, CaseType, Channel, Move, Status
from cases.repository import CaseRepository
from cases.working_days import BANGKOK
from database.pool import Database
from tests.cases.factories import NOW, People, complaint_form


async def test_a_complaint_gets_a_be_reference_and_a_three_working_day_due(
    repo: CaseRepository, people: People
) -> None:
    first = await repo.create_case(complaint_form(), actor=people.agent, now=NOW)
    second = await repo.create_case(complaint_form(), actor=people.agent, now=NOW)
    assert first.reference == "HL-2569-000001"
    assert second.reference == "HL-2569-000002"
    assert first.status is Status.RECEIVED
    # Friday 20 Nov + 3 working days = Wednesday 25 Nov at closing time.
    assert first.due_at == datetime(2026, 11, 25, 16, 30, tzinfo=BANGKOK)
    assert first.contact_name == "สมชาย ใจดี"


async def test_an_agency_closed_day_moves_the_due_date(
    repo: CaseRepository, people: People
) -> None:
    await repo.add_closed_day(date(2026, 11, 23), "staff seminar", people.supervisor.user_id)
    case = await repo.create_case(complaint_form(), actor=people.agent, now=NOW)
    assert case.due_at == datetime(2026, 11, 26, 16, 30, tzinfo=BANGKOK)


async def test_a_general_inquiry_is_closed_at_intake_with_its_history(
    repo: CaseRepository, people: People
) -> None:
    case = await repo.create_case(
        complaint_form(case_type=CaseType.COMPLIMENT, topic="ชมเจ้าหน้าที่"),
        actor=people.agent,
        now=NOW,
    )
    assert case.status is Status.CLOSED
    assert case.due_at is None
    history = await repo.history(case.id)
    assert [(e.action, e.to_status) for e in history] == [
        ("created", "received"),
        ("answer_at_intake", "closed"),
    ]
    assert history[0].actor_name == "Agent1"


async def test_full_lifecycle_writes_one_event_per_change(
    repo: CaseRepository, people: People
) -> None:
    case = await repo.create_case(complaint_form(), actor=people.agent, now=NOW)
    steps = [
        (Move(Action.ACKNOWLEDGE), people.agent),
        (Move(Action.ASSESS, note="meter problem"), people.agent),
        (Move(Action.FORWARD, unit_id=people.unit_id), people.agent),
        (Move(Action.START), people.unit),
        (
            Move(
                Action.RESOLVE,
                note="meter replaced",
                decision="upheld",
                decision_reasons="the meter was faulty",
                root_cause="meter_billing",
            ),
            people.unit,
        ),
        (Move(Action.NOTIFY, note="phoned the caller"), people.agent),
        (Move(Action.CLOSE), people.agent),
    ]
    for minutes, (move, actor) in enumerate(steps, start=1):
        case = await repo.transition(
            case.id, move, actor=actor, now=NOW + timedelta(minutes=minutes)
        )
    assert case.status is Status.CLOSED
    assert case.decision == "upheld"
    assert case.decision_reasons == "the meter was faulty"
    assert case.findings == "meter replaced"
    assert case.unit_name == "กองประปา สาขา 1"
    history = await repo.history(case.id)
    assert [e.action for e in history] == ["created"] + [m.action.value for m, _ in steps]
    resolve = history[5]
    assert resolve.actor_id == people.unit.user_id
    assert resolve.from_status == "in_progress"
    assert resolve.data["decision_reasons"] == "the meter was faulty"


async def test_a_forbidden_transition_changes_nothing(repo: CaseRepository, people: People) -> None:
    case = await repo.create_case(complaint_form(), actor=people.agent, now=NOW)
    with pytest.raises(TransitionNotAllowed):
        await repo.transition(case.id, Move(Action.CLOSE), actor=people.supervisor, now=NOW)
    with pytest.raises(UnitNotFound):
        await repo.transition(case.id, Move(Action.ACKNOWLEDGE), actor=people.agent, now=NOW)
        await repo.transition(case.id, Move(Action.ASSESS), actor=people.agent, now=NOW)
        await repo.transition(
            case.id, Move(Action.FORWARD, unit_id=999_999), actor=people.agent, now=NOW
        )
    assert (await repo.get_case(case.id, people.supervisor)).status is Status.ASSESSED
    assert [e.action for e in await repo.history(case.id)] == [
        "created",
        "acknowledge",
        "assess",
    ]


async def test_a_unit_sees_only_cases_forwarded_to_it_and_can_send_back(
    repo: CaseRepository, people: People
) -> None:
    case = await repo.create_case(complaint_form(), actor=people.agent, now=NOW)
    with pytest.raises(AccessDenied):
        await repo.get_case(case.id, people.unit)
    for move in (Move(Action.ACKNOWLEDGE), Move(Action.ASSESS)):
        await repo.transition(case.id, move, actor=people.agent, now=NOW)
    await repo.transition(
        case.id, Move(Action.FORWARD, unit_id=people.unit_id), actor=people.agent, now=NOW
    )
    assert (await repo.get_case(case.id, people.unit)).status is Status.FORWARDED
    with pytest.raises(AccessDenied):
        await repo.get_case(case.id, people.other_unit)
    returned = await repo.transition(
        case.id, Move(Action.RETURN, note="not ours: roads"), actor=people.unit, now=NOW
    )
    assert returned.status is Status.ASSESSED
    with pytest.raises(AccessDenied):
        await repo.get_case(case.id, people.unit)


async def test_reopening_clears_the_resolution_and_keeps_the_history(
    repo: CaseRepository, people: People
) -> None:
    case = await repo.create_case(
        complaint_form(case_type=CaseType.INFORMATION_KB), actor=people.agent, now=NOW
    )
    for move in (
        Move(Action.ACKNOWLEDGE),
        Move(Action.ASSESS),
        Move(Action.RESOLVE, decision="answered", decision_reasons="from the knowledge base"),
    ):
        case = await repo.transition(case.id, move, actor=people.agent, now=NOW)
    assert case.resolved_at == NOW
    case = await repo.transition(
        case.id, Move(Action.REOPEN, note="caller called back"), actor=people.agent, now=NOW
    )
    assert case.status is Status.IN_PROGRESS
    assert case.resolved_at is None
    assert (await repo.history(case.id))[-1].note == "caller called back"


async def test_update_keeps_the_reference_and_moves_the_due_with_the_type(
    repo: CaseRepository, people: People
) -> None:
    case = await repo.create_case(
        complaint_form(case_type=CaseType.INFORMATION_KB), actor=people.agent, now=NOW
    )
    updated = await repo.update_case(
        case.id,
        complaint_form(topic="น้ำขุ่น", channel=Channel.EMAIL),
        actor=people.agent,
        now=NOW,
    )
    assert updated.reference == case.reference
    assert updated.topic == "น้ำขุ่น"
    assert updated.due_at == datetime(2026, 11, 25, 16, 30, tzinfo=BANGKOK)
    answered = await repo.update_case(
        case.id, complaint_form(case_type=CaseType.COMPLIMENT), actor=people.agent, now=NOW
    )
    assert answered.due_at is None and answered.sla_started_at is None
    event = (await repo.history(case.id))[-1]
    assert event.action == "updated"
    assert set(event.data["fields"]) == {"case_type", "topic", "channel"}
    with pytest.raises(AccessDenied):
        await repo.update_case(case.id, complaint_form(), actor=people.other_agent, now=NOW)


async def test_screen_pop_lists_open_cases_first_then_recent_ones(
    db: Database, repo: CaseRepository, people: People
) -> None:
    caller_id = await db.pool.fetchval(
        "INSERT INTO callers (number, name) VALUES ('0812345678', 'x') RETURNING id"
    )
    old = await repo.create_case(
        complaint_form(case_type=CaseType.INQUIRY, topic="old"),
        actor=people.agent,
        now=NOW - timedelta(days=200),
        caller_id=caller_id,
    )
    recent = await repo.create_case(
        complaint_form(case_type=CaseType.INQUIRY, topic="recent"),
        actor=people.agent,
        now=NOW - timedelta(days=3),
        caller_id=caller_id,
    )
    open_case = await repo.create_case(
        complaint_form(), actor=people.agent, now=NOW - timedelta(days=10), caller_id=caller_id
    )
    await repo.create_case(complaint_form(topic="someone else"), actor=people.agent, now=NOW)
    summaries = await repo.caller_cases(caller_id, now=NOW)
    assert [s.id for s in summaries] == [open_case.id, recent.id]
    assert summaries[0].overdue
    assert summaries[0].case_type is CaseType.COMPLAINT
    assert old.id not in [s.id for s in summaries]


async def test_resolved_complaints_await_a_follow_up_survey_until_one_exists(
    db: Database, repo: CaseRepository, people: People
) -> None:
    complaint = await repo.create_case(complaint_form(), actor=people.agent, now=NOW)
    info = await repo.create_case(
        complaint_form(case_type=CaseType.INFORMATION_KB), actor=people.agent, now=NOW
    )
    for case in (complaint, info):
        for move in (
            Move(Action.ACKNOWLEDGE),
            Move(Action.ASSESS),
            Move(Action.RESOLVE, decision="done", decision_reasons="fixed", root_cause="other"),
        ):
            await repo.transition(case.id, move, actor=people.agent, now=NOW)
    waiting = await repo.complaints_resolved_awaiting_survey(NOW - timedelta(days=1))
    assert [w.case_id for w in waiting] == [complaint.id]
    assert waiting[0].caller_number == "0812345678"
    assert waiting[0].survey_due_at == datetime(2026, 11, 25, 16, 30, tzinfo=BANGKOK)
    insert_survey = (
        "INSERT INTO surveys (id, case_id, caller_number, pbx, not_before, expires_at, selection)"
        " VALUES (gen_random_uuid(), $1, '0812345678', 'pbx1', $2, $2, $3)"
    )
    await db.pool.execute(insert_survey, complaint.id, NOW, "answered")
    still = await repo.complaints_resolved_awaiting_survey(NOW - timedelta(days=1))
    assert [w.case_id for w in still] == [complaint.id], "the post-call survey is not the follow-up"
    await db.pool.execute(insert_survey, complaint.id, NOW, "case_followup")
    assert await repo.complaints_resolved_awaiting_survey(NOW - timedelta(days=1)) == []


async def test_personal_data_is_shown_only_to_who_needs_it_and_every_view_is_logged(
    repo: CaseRepository, people: People
) -> None:
    case = await repo.create_case(complaint_form(), actor=people.agent, now=NOW)
    assert await repo.may_see_personal_data(case, people.agent)
    assert await repo.may_see_personal_data(case, people.supervisor)
    assert not await repo.may_see_personal_data(case, people.other_agent)
    assert not await repo.may_see_personal_data(case, people.unit)
    await repo.log_personal_data_view(case, people.supervisor, NOW)
    views = await repo.personal_data_views(case.id)
    assert [(v["user_id"], v["viewed_at"]) for v in views] == [(people.supervisor.user_id, NOW)]


def test_the_intake_form_reports_every_bad_field() -> None:
    from cases.intake import IntakeForm

    with pytest.raises(InvalidCaseData) as info:
        IntakeForm.parse({"channel": "fax", "case_type": "", "topic": " ", "contact_email": "nope"})
    assert info.value.field_errors == {
        "channel": "invalid",
        "case_type": "required",
        "topic": "required",
        "contact_email": "invalid",
    }
    form = IntakeForm.parse(
        {"channel": "phone", "case_type": "complaint", "topic": " ท่อแตก\x00 ", "significant": "on"}
    )
    assert form.topic == "ท่อแตก"
    assert form.significant

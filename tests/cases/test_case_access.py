"""A complainant's personal data and a case's lifecycle belong to its named handler: the
agent who opened it or the one a supervisor assigned it to, never whoever wrote on it."""

from __future__ import annotations

import pytest

from cases.errors import AccessDenied, InvalidCaseData
from cases.lifecycle import Action, Move
from cases.repository import CaseRepository
from tests.cases.factories import NOW, People, complaint_form, forward
from tests.cases.site import Site

OTHERS_MOVES = [
    Move(Action.ACKNOWLEDGE),
    Move(Action.RESOLVE, decision="upheld", decision_reasons="fixed", root_cause="other"),
    Move(Action.REOPEN, note="again"),
    Move(Action.CLOSE),
]


async def test_a_note_does_not_make_an_agent_the_handler(
    repo: CaseRepository, people: People
) -> None:
    case = await repo.create_case(complaint_form(), actor=people.agent, now=NOW)
    await repo.add_note(case.id, "called the caller back", actor=people.other_agent, now=NOW)
    assert not await repo.may_see_personal_data(case, people.other_agent)
    with pytest.raises(AccessDenied):
        await repo.update_case(
            case.id, complaint_form(topic="mine now"), actor=people.other_agent, now=NOW
        )


@pytest.mark.parametrize("move", OTHERS_MOVES, ids=lambda m: m.action.value)
async def test_an_agent_cannot_move_another_agents_case(
    repo: CaseRepository, people: People, move: Move
) -> None:
    case = await repo.create_case(complaint_form(), actor=people.agent, now=NOW)
    with pytest.raises(AccessDenied):
        await repo.transition(case.id, move, actor=people.other_agent, now=NOW)


async def test_an_agent_cannot_forward_another_agents_case(
    repo: CaseRepository, people: People
) -> None:
    case = await repo.create_case(complaint_form(), actor=people.agent, now=NOW)
    with pytest.raises(AccessDenied):
        await forward(repo, case.id, people.unit_id, people.other_agent)


async def test_a_supervisor_assigns_the_case_and_the_handler_changes(
    repo: CaseRepository, people: People
) -> None:
    case = await repo.create_case(complaint_form(), actor=people.agent, now=NOW)
    assigned = await repo.assign(
        case.id, people.other_agent.user_id, actor=people.supervisor, now=NOW
    )
    assert await repo.may_see_personal_data(assigned, people.other_agent)
    await forward(repo, case.id, people.unit_id, people.other_agent)
    history = await repo.history(case.id)
    assert "assign" in [e.action for e in history]


async def test_only_supervisors_assign_and_only_to_agents(
    repo: CaseRepository, people: People
) -> None:
    case = await repo.create_case(complaint_form(), actor=people.agent, now=NOW)
    with pytest.raises(AccessDenied):
        await repo.assign(case.id, people.agent.user_id, actor=people.agent, now=NOW)
    with pytest.raises(InvalidCaseData):
        await repo.assign(case.id, people.unit.user_id, actor=people.supervisor, now=NOW)


async def test_the_case_page_offers_another_agents_case_no_actions_and_no_personal_data(
    site: Site,
) -> None:
    await site.add_user("agent1", "agent")
    await site.add_user("agent2", "agent")
    await site.add_user("boss", "supervisor")
    await site.log_in("agent1")
    _, _, location = await site.post(
        "/cases/new",
        {"channel": "phone", "case_type": "complaint", "topic": "Pipe", "contact_name": "Nok"},
    )
    await site.log_in("agent2")
    _, page = await site.get(location)
    assert 'id="personal-hidden"' in page and "Nok" not in page
    assert 'data-action="forward"' not in page and 'data-action="acknowledge"' not in page
    await site.log_in("boss")
    _, page = await site.get(location)
    agent2 = await site.pool.fetchval("SELECT id FROM users WHERE username = 'agent2'")
    status, _, _ = await site.post(f"{location}/assign", {"assigned_to": str(agent2)})
    assert status == 303
    await site.log_in("agent2")
    _, page = await site.get(location)
    assert "Nok" in page and 'data-action="acknowledge"' in page


async def test_free_text_of_another_agents_case_shows_only_to_its_handlers(site: Site) -> None:
    """Details and notes can name the complainant: an agent who does not handle the case sees
    that they exist, never what they say, and cannot find the case by searching them."""
    await site.add_user("agent1", "agent")
    await site.add_user("agent2", "agent")
    await site.log_in("agent1")
    _, _, location = await site.post(
        "/cases/new",
        {
            "channel": "phone",
            "case_type": "complaint",
            "topic": "Pipe",
            "details": "Nok at 12 Moo 3 says the pipe burst",
        },
    )
    status, _, _ = await site.post(f"{location}/note", {"note": "Nok's neighbour called too"})
    assert status == 303
    _, own = await site.get(location)
    assert "Nok at 12 Moo 3" in own and "Nok&#39;s neighbour" in own
    _, found = await site.get("/cases?q=Moo+3")
    assert 'class="case-row' in found

    await site.log_in("agent2")
    _, page = await site.get(location)
    assert "Nok" not in page and "text-hidden" in page
    _, found = await site.get("/cases?q=Moo+3")
    assert 'class="case-row' not in found
    _, by_topic = await site.get("/cases?q=Pipe")
    assert 'class="case-row' in by_topic, "the register itself stays open"

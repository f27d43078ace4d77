"""The intake names only a call of the agent who saves it (over HTTP, on the real service)."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from runtime.clock import ManualClock
from telephony.events import make_call_key
from tests.ui.conftest import PBX, MakeAgent
from tests.ui.test_panel import answered, ended, feed, queued, ringing, stored_call
from web.keys import db_key

FORM = {"channel": "phone", "case_type": "complaint", "topic": "Water bill", "details": "x"}


async def counts(server: TestServer) -> tuple[int, int]:
    pool = server.app[db_key].pool
    return await pool.fetchval("SELECT count(*) FROM cases"), await pool.fetchval(
        "SELECT count(*) FROM callers"
    )


async def test_an_intake_naming_another_agents_call_is_refused_and_stores_nothing(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    malee = await make_agent("malee", "PJSIP/102")
    await feed(panel_app, queued(clock, "1.1"), ringing(clock, "1.1", "PJSIP/101"))
    await feed(panel_app, answered(clock, "1.1", "PJSIP/101"))
    theirs = make_call_key(PBX, "1169", "1.1")
    before = await counts(panel_app)

    status, body = await malee.post(
        "/panel/intake", call_key=theirs, contact_phone="0899999999", **FORM
    )
    assert (status, body) == (403, {"error": "not_your_call"})
    assert await counts(panel_app) == before
    status, _ = await malee.post("/panel/intake", call_key=f"{PBX}/1169/nosuch", **FORM)
    assert status == 403

    status, body = await somchai.post("/panel/intake", call_key=theirs, **FORM)
    assert status == 200


async def test_notes_saved_after_the_next_pop_go_to_the_call_they_were_typed_for(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    await feed(panel_app, queued(clock, "2.1"), ringing(clock, "2.1", "PJSIP/101"))
    await feed(panel_app, answered(clock, "2.1", "PJSIP/101"), ended(clock, "2.1", "PJSIP/101"))
    await feed(panel_app, queued(clock, "2.2"), ringing(clock, "2.2", "PJSIP/101"))
    first = make_call_key(PBX, "1169", "2.1")
    assert (await somchai.state())["call"]["call_key"] != first

    status, body = await somchai.post("/panel/intake", call_key=first, **FORM)
    assert status == 200
    call = await stored_call(panel_app, "2.1")
    case_call = await panel_app.app[db_key].pool.fetchval(
        "SELECT call_id FROM cases WHERE id = $1", body["case_id"]
    )
    assert case_call == call["id"]

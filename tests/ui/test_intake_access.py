"""A correction the agent may not make is refused before anything is written: the caller's
details that come with the intake form stay as they were."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from tests.ui.conftest import MakeAgent
from web.keys import db_key

FORM = {"channel": "phone", "case_type": "complaint", "topic": "No water"}


async def test_a_refused_correction_leaves_the_callers_details_alone(
    panel_app: TestServer, make_agent: MakeAgent
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    mali = await make_agent("mali", "PJSIP/102")
    caller = {"contact_phone": "0812345678", "contact_name": "Nok", "contact_email": "nok@a.th"}
    status, saved = await somchai.post("/panel/intake", **FORM, **caller)
    assert status == 200
    status, _ = await mali.post(
        "/panel/intake",
        **FORM,
        contact_phone="0812345678",
        contact_name="Mallory",
        contact_email="mallory@evil.example",
        case_id=str(saved["case_id"]),
    )
    assert status == 403
    row = await panel_app.app[db_key].pool.fetchrow(
        "SELECT name, email FROM callers WHERE number = '0812345678'"
    )
    assert (row["name"], row["email"]) == ("Nok", "nok@a.th")

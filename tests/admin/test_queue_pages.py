"""The admin's queue pages against the PBX simulator: queues, who may sign in to each at
which penalty, what the PBX has now, and signing an agent out of every queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from accounts.users import UserRepository
from tests.passwords import password_hash
from tests.ui.conftest import PASSWORD, Desk
from tests.ui.pbx_shift import QUEUE, Shift, shift_service, until
from web.keys import db_key


@pytest_asyncio.fixture(loop_scope="function")
async def shift(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[Shift]:
    async with shift_service(fresh_db_url, tmp_path, wrapup_s=60) as running:
        await UserRepository(running.server.app[db_key].pool).create(
            username="root",
            display_name="Root",
            password_hash=await password_hash(PASSWORD),
            role="admin",
            language="en",
        )
        yield running


async def _post(desk: Desk, path: str, **data: str) -> tuple[int, str]:
    """A form post as the browser sends it, without following the redirect."""
    data = {"csrf_token": desk.csrf, **data}
    response = await desk.session.post(path, data=data, allow_redirects=False)
    return response.status, await response.text()


async def test_an_admin_adds_a_queue_and_sets_the_penalty_the_next_sign_in_uses(
    shift: Shift,
) -> None:
    user_id = await shift.agent()
    root = await shift.log_in("root", "/admin/queues")
    status, page = await _post(root, "/admin/queues", pbx="nowhere", name="bad name!")
    assert status == 422 and "No such PBX is configured" in page and "Letters, digits" in page
    status, _ = await _post(root, "/admin/queues", pbx="sim", name="1170", number="1170")
    assert status == 303
    pool = shift.server.app[db_key].pool
    queue_id = await pool.fetchval("SELECT id FROM queues WHERE name = $1", QUEUE)

    status, page = await _post(
        root, f"/admin/queues/{queue_id}", **{f"member_{user_id}": "on", f"penalty_{user_id}": "x"}
    )
    assert status == 422 and "from 0 to 99" in page
    assert await pool.fetchval("SELECT penalty FROM agent_queues WHERE user_id = $1", user_id) == 0
    status, _ = await _post(
        root, f"/admin/queues/{queue_id}", **{f"member_{user_id}": "on", f"penalty_{user_id}": "7"}
    )
    assert status == 303
    listing = await (await root.session.get("/admin/queues")).text()
    assert "1170" in listing

    await shift.log_in()
    member = await until(shift.member, "signed in")
    assert member.penalty == 7
    page = await (await root.session.get(f"/admin/queues/{queue_id}")).text()
    assert "Paused" in page and "Sign out of all queues" in page


async def test_an_admin_signs_an_agent_out_of_every_queue(shift: Shift) -> None:
    user_id = await shift.agent()
    somchai = await shift.log_in()
    await somchai.post("/panel/availability", availability="ready")
    await until(shift.member, "in the queue")
    root = await shift.log_in("root", "/admin/queues")
    status, _ = await _post(root, f"/admin/agents/{user_id}/sign-out", queue_id="1")
    assert status == 303
    assert shift.member() is None
    assert (await somchai.state())["availability"] == "logged_out"


async def test_an_admin_removing_an_agent_from_a_queue_keeps_the_others(shift: Shift) -> None:
    user_id = await shift.agent()
    pool = shift.server.app[db_key].pool
    queue_id = await pool.fetchval("SELECT id FROM queues WHERE name = $1", QUEUE)
    root = await shift.log_in("root", "/admin/queues")
    assert (await _post(root, f"/admin/queues/{queue_id}"))[0] == 303
    assert await pool.fetchval("SELECT count(*) FROM agent_queues WHERE user_id = $1", user_id) == 0
    await shift.log_in()
    assert shift.member() is None, "an agent allowed in no queue joins none"


async def test_an_admin_logging_an_agent_out_everywhere_takes_them_out_of_the_queues(
    shift: Shift,
) -> None:
    """Ending every session of an agent leaves no phone ringing for a panel nobody has."""
    user_id = await shift.agent()
    somchai = await shift.log_in()
    await somchai.post("/panel/availability", availability="ready")
    await until(shift.member, "in the queue")
    root = await shift.log_in("root", f"/admin/users/{user_id}")
    status, _ = await _post(root, f"/admin/users/{user_id}/sign-out")
    assert status == 303
    assert shift.member() is None

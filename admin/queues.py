"""The admin's queue pages: the queues, who may sign in to each and at which penalty
(skill), who is in it on the PBX right now, and signing an agent out of every queue.

The table is what the next sign-in sends to the PBX (QueueAdd); an agent already in the
queue keeps the penalty they joined with until they sign in again.
"""

from __future__ import annotations

import re

from aiohttp import web

from accounts.skills import MAX_PENALTY, Candidate
from web.auth import require_role, see_other
from web.forms import posted_text
from web.keys import floor_key, panel_key, presence_key, settings_key, skills_key
from web.templating import render

# Asterisk queue names as queues.conf sections allow them.
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/queues", queues_page)
    app.router.add_post("/admin/queues", add_queue)
    app.router.add_get(r"/admin/queues/{id:\d+}", members_page)
    app.router.add_post(r"/admin/queues/{id:\d+}", save_members)
    app.router.add_post(r"/admin/agents/{id:\d+}/sign-out", sign_out)


@require_role("admin")
async def queues_page(request: web.Request) -> web.Response:
    return await _queues(request, {}, {})


async def _queues(
    request: web.Request, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> web.Response:
    context = {
        "queues": await request.app[skills_key].queues(),
        "pbx_choices": [(pbx.name, pbx.name) for pbx in request.app[settings_key].pbx],
        "values": values,
        "errors": errors,
    }
    return render(request, "admin/queues.html", context, status=status)


@require_role("admin")
async def add_queue(request: web.Request) -> web.StreamResponse:
    values = await posted_text(request, ("pbx", "name", "number"))
    values = {key: value.strip() for key, value in values.items()}
    errors: dict[str, str] = {}
    if values["pbx"] not in [pbx.name for pbx in request.app[settings_key].pbx]:
        errors["pbx"] = "pbx_unknown"
    if _QUEUE_NAME.fullmatch(values["name"]) is None:
        errors["name"] = "queue_name"
    if len(values["number"]) > 20:
        errors["number"] = "queue_number"
    if errors:
        return await _queues(request, values, errors, status=422)
    queue_id = await request.app[skills_key].add_queue(
        values["pbx"], values["name"], values["number"]
    )
    return see_other(f"/admin/queues/{queue_id}?done=saved")


def _on_pbx(request: web.Request, agent: Candidate, queue: str) -> str:
    """What the PBX reports for the agent in this queue: out, ready, or paused (reason)."""
    if not agent.pbx or not agent.interface:
        return "out"
    member = request.app[floor_key].membership(agent.pbx, agent.interface)
    if member is None or queue not in member.queues:
        return "out"
    return "paused" if member.paused else "ready"


async def _members(request: web.Request, errors: dict[int, str], status: int = 200) -> web.Response:
    queue_id = int(request.match_info["id"])
    queue = await request.app[skills_key].queue(queue_id)
    if queue is None:
        raise web.HTTPNotFound()
    agents = await request.app[skills_key].candidates(queue_id)
    signed_in = set(request.app[panel_key].signed_in())
    rows = [
        {
            "agent": agent,
            "on_pbx": _on_pbx(request, agent, queue.name),
            "signed_in": agent.user_id in signed_in,
        }
        for agent in agents
    ]
    context = {
        "queue": queue,
        "rows": rows,
        "errors": errors,
        "max_penalty": MAX_PENALTY,
        "done": request.query.get("done") == "saved",
    }
    return render(request, "admin/queue_members.html", context, status=status)


@require_role("admin")
async def members_page(request: web.Request) -> web.Response:
    return await _members(request, {})


@require_role("admin")
async def save_members(request: web.Request) -> web.StreamResponse:
    """Each listed agent in or out of the queue, with a penalty 0..MAX_PENALTY."""
    queue_id = int(request.match_info["id"])
    skills = request.app[skills_key]
    if await skills.queue(queue_id) is None:
        raise web.HTTPNotFound()
    form = await request.post()
    penalties: dict[int, int | None] = {}
    errors: dict[int, str] = {}
    for agent in await skills.candidates(queue_id):
        raw = str(form.get(f"penalty_{agent.user_id}", "0")).strip()
        if f"member_{agent.user_id}" not in form:
            penalties[agent.user_id] = None
        elif raw.isdigit() and int(raw) <= MAX_PENALTY:
            penalties[agent.user_id] = int(raw)
        else:
            errors[agent.user_id] = "admin.queues.error.penalty"
    if errors:
        return await _members(request, errors, status=422)
    await skills.set_members(queue_id, penalties)
    return see_other(f"/admin/queues/{queue_id}?done=saved")


@require_role("admin")
async def sign_out(request: web.Request) -> web.StreamResponse:
    """Take an agent out of every queue (gone home still signed in, say)."""
    await request.app[presence_key].sign_out(int(request.match_info["id"]))
    back = str((await request.post()).get("queue_id", ""))
    return see_other(f"/admin/queues/{back}" if back.isdigit() else "/admin/queues")

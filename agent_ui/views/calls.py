"""The panel's call-control actions and the callback requests: hang up, transfer (blind or
attended), call a citizen back, and the list of open requests for agents and supervisors.

Actions answer JSON for web/static/call_control.js. A refusal, by the panel or by the PBX,
answers `{"error": code}`; the script shows that code's translated message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from agent_ui.call_control import (
    TRANSFER_KINDS,
    CallControlRefused,
    CallControlService,
    CallLegs,
    agent_extension,
)
from agent_ui.call_control_store import CallbackRequest
from agent_ui.panel_service import Agent
from agent_ui.views.panel import _agent
from cases.dates import as_era, as_lang, format_datetime
from cases.lifecycle import Role
from cases.models import Actor
from telephony.errors import TelephonyError
from web.auth import require_role, signed_in
from web.forms import posted_text
from web.i18n import request_language
from web.keys import (
    call_control_key,
    call_legs_key,
    cases_key,
    event_subscribers_key,
    settings_key,
    users_key,
)
from web.templating import render

log = structlog.get_logger()

# A PBX that refused or could not be reached: the request was fine, the gateway was not.
PBX_REFUSED = 502


def _refused(exc: CallControlRefused | TelephonyError) -> web.Response:
    status = exc.status if isinstance(exc, CallControlRefused) else PBX_REFUSED
    return web.json_response({"error": exc.code}, status=status)


async def _reachable_agents(request: web.Request, me: Agent) -> dict[str, str]:
    """Extension -> name of the other agents on this agent's PBX."""
    prefix = request.app[settings_key].call_control.agent_extension_prefix
    found: dict[str, str] = {}
    for other in await request.app[users_key].agents():
        if other.id == me.user_id or not other.active or other.pbx != me.pbx:
            continue
        extension = agent_extension(other.interface or "", prefix)
        if extension is not None:
            found[extension] = other.display_name
    return found


async def _me(request: web.Request) -> tuple[Agent, CallControlService]:
    return await _agent(request, signed_in(request)), request.app[call_control_key]


@require_role("agent")
async def transfer_targets(request: web.Request) -> web.Response:
    """Who and where this agent may transfer to, for the transfer form."""
    agent, _ = await _me(request)
    agents = await _reachable_agents(request, agent)
    return web.json_response(
        {
            "agents": [{"extension": e, "name": n} for e, n in sorted(agents.items())],
            "queues": list(agent.queues),
        }
    )


@require_role("agent")
async def hang_up(request: web.Request) -> web.Response:
    return await _on_call(request, CallControlService.hang_up)


@require_role("agent")
async def transfer(request: web.Request) -> web.Response:
    """Blind or attended (`attended=1`) to an agent, a queue or an outside number."""
    fields = await posted_text(request, ("call_key", "kind", "target", "attended"))
    kind = fields["kind"]
    if not fields["call_key"] or kind not in TRANSFER_KINDS:
        return web.json_response({"error": "missing_call"}, status=422)
    agent, service = await _me(request)
    attended = fields["attended"] == "1"
    try:
        agents = await _reachable_agents(request, agent) if kind == "agent" else {}
        exten = service.extension(agent, kind, fields["target"].strip(), agents)
        await service.transfer(agent, fields["call_key"], exten, attended=attended)
    except (CallControlRefused, TelephonyError) as exc:
        log.info("transfer_refused", agent=agent.user_id, error=exc.code)
        return _refused(exc)
    return web.json_response({"done": True, "attended": attended, "target": exten})


@require_role("agent")
async def complete_transfer(request: web.Request) -> web.Response:
    return await _on_call(request, CallControlService.complete_transfer)


@require_role("agent")
async def cancel_transfer(request: web.Request) -> web.Response:
    return await _on_call(request, CallControlService.cancel_transfer)


OnCall = Callable[[CallControlService, Agent, str], Awaitable[None]]


async def _on_call(request: web.Request, action: OnCall) -> web.Response:
    """One action on the call talking on the agent's desk (named by `call_key`)."""
    fields = await posted_text(request, ("call_key",))
    if not fields["call_key"]:
        return web.json_response({"error": "missing_call"}, status=422)
    agent, service = await _me(request)
    try:
        await action(service, agent, fields["call_key"])
    except (CallControlRefused, TelephonyError) as exc:
        return _refused(exc)
    return web.json_response({"done": True})


@require_role("agent")
async def call_back(request: web.Request) -> web.Response:
    """Click-to-call: the agent's phone rings first, then the citizen's number.

    From the history or a case (`case_id`, whose reference goes with the call) or from a
    callback request (`request_id`, whose stored number is dialled).
    """
    fields = await posted_text(request, ("number", "case_id", "request_id"))
    agent, service = await _me(request)
    case_id, request_id = _int(fields["case_id"]), _int(fields["request_id"])
    reference = f"callback-{request_id}" if request_id is not None else "history"
    try:
        if case_id is not None:
            user = signed_in(request)
            actor = Actor(user_id=user.id, role=Role(user.role), unit_id=user.unit_id)
            reference = (await request.app[cases_key].get_case(case_id, actor)).reference
        await service.call_back(
            agent, fields["number"], reference=reference, case_id=case_id, request_id=request_id
        )
    except (CallControlRefused, TelephonyError) as exc:
        log.info("call_back_refused", agent=agent.user_id, error=exc.code)
        return _refused(exc)
    return web.json_response({"done": True})


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 19 else None


async def _open_requests(request: web.Request) -> list[CallbackRequest]:
    """An agent sees the requests of their own queues; supervisors see every queue."""
    user = signed_in(request)
    queues = None
    if user.role == "agent":
        queues = [name for _, name in await request.app[users_key].queues_of(user.id)]
    return await request.app[call_control_key].store.open_requests(queues)


@require_role("agent")
async def callbacks_json(request: web.Request) -> web.Response:
    requests = [
        {
            "id": r.id,
            "queue": r.queue,
            "number": r.number,
            "raw_number": r.raw_number,
            "requested_at": r.requested_at.isoformat(),
        }
        for r in await _open_requests(request)
    ]
    return web.json_response({"requests": requests})


@require_role("agent", "supervisor", "admin")
async def callbacks_page(request: web.Request) -> web.Response:
    """Open requests for supervisors (and agents), in the agency's time and calendar."""
    settings = request.app[settings_key]
    lang = as_lang(request_language(request, settings.language))
    era = as_era(settings.era)
    rows = [
        (r, format_datetime(r.requested_at, era, lang, tz=settings.tz))
        for r in await _open_requests(request)
    ]
    return render(request, "panel/callbacks.html", {"rows": rows})


def setup(app: web.Application) -> None:
    """Routes of call control, and its telephony subscriber (registered now, so it sees
    every event from the first link-up; it hands requests on once its lifetime runs)."""
    legs = CallLegs()
    app[call_legs_key] = legs
    app[event_subscribers_key].append(legs)
    app.router.add_get("/panel/call/targets", transfer_targets)
    app.router.add_post("/panel/call/hangup", hang_up)
    app.router.add_post("/panel/call/transfer", transfer)
    app.router.add_post("/panel/call/transfer/complete", complete_transfer)
    app.router.add_post("/panel/call/transfer/cancel", cancel_transfer)
    app.router.add_post("/panel/callback", call_back)
    app.router.add_get("/panel/callbacks", callbacks_json)
    app.router.add_get("/callbacks", callbacks_page)

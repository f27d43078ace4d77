"""Supervisors' listen / whisper / barge: the POST routes the board's buttons use
(templates/supervisor/_spy_controls.html) and a page of the calls one may spy on now, the
spies in progress (who hears whom) and the latest audit lines.

Starting or switching spies is for supervisors only; the page is also open to admins, who
answer for the audit. A refusal (the call is not live, no phone, the phone did not answer,
the PBX refused) comes back translated: on the page, or as JSON to a script.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from cases.dates import Lang, as_era, as_lang, format_datetime
from supervision.spying import Spy, SpyRefused
from telephony.errors import TelephonyError
from web.auth import require_role, safe_next, see_other, signed_in
from web.forms import posted_text
from web.i18n import request_language
from web.keys import catalog_key, settings_key, spy_key
from web.templating import render

SPIES_PAGE = "/supervisor/spies"
# Refusals with a message of their own (web/locales/spy.json); any other PBX error says so.
_MESSAGES = frozenset(
    {
        "spy_unknown_call",
        "spy_call_not_live",
        "spy_no_phone",
        "spy_bad_mode",
        "spy_not_spying",
        "spy_phone_no_answer",
        "spy_phone_busy",
    }
)


def _spy_json(spy: Spy) -> dict[str, Any]:
    return {
        "supervisor": spy.supervisor_name,
        "call_key": spy.call_key,
        "queue": spy.queue,
        "agent": spy.agent_name,
        "agent_interface": spy.agent_interface,
        "mode": spy.mode,
        "since": spy.since.isoformat(),
        "hearing": spy.hearing,
    }


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _lang(request: web.Request) -> Lang:
    return as_lang(request_language(request, request.app[settings_key].language))


async def _act(
    request: web.Request, action: Callable[[dict[str, str]], Awaitable[object]]
) -> web.Response:
    """Run a spy action; answer with the spies now (JSON) or back to the form's page."""
    form = await posted_text(request, ("mode", "next"))
    try:
        await action(form)
    except (SpyRefused, TelephonyError) as exc:
        return await _refused(request, exc)
    if _wants_json(request):
        return web.json_response({"spies": [_spy_json(s) for s in request.app[spy_key].spies()]})
    back = form["next"]
    return see_other(safe_next(back) if back.startswith("/supervisor") else SPIES_PAGE)


async def _refused(request: web.Request, exc: SpyRefused | TelephonyError) -> web.Response:
    code = exc.code if exc.code in _MESSAGES else "spy_pbx_error"
    status = exc.status if isinstance(exc, SpyRefused) else 502
    message = request.app[catalog_key].text(f"spy.error.{code}", _lang(request))
    if _wants_json(request):
        return web.json_response({"error": exc.code, "message": message}, status=status)
    return await _page(request, status, (exc.code, message))


@require_role("supervisor")
async def start_spy(request: web.Request) -> web.Response:
    call_key = request.match_info["call_key"]
    service = request.app[spy_key]
    return await _act(
        request, lambda form: service.start(signed_in(request), call_key, form["mode"])
    )


@require_role("supervisor")
async def stop_spy(request: web.Request) -> web.Response:
    call_key = request.match_info["call_key"]
    service = request.app[spy_key]
    return await _act(request, lambda form: service.stop(signed_in(request), call_key))


@require_role("supervisor", "admin")
async def spies_page(request: web.Request) -> web.Response:
    return await _page(request, 200, None)


async def _page(request: web.Request, status: int, error: tuple[str, str] | None) -> web.Response:
    app = request.app
    service, settings = app[spy_key], app[settings_key]
    user = signed_in(request)
    era, lang = as_era(settings.era), _lang(request)

    def when(value: datetime | None) -> str:
        return format_datetime(value, era, lang, seconds=True, tz=settings.tz)

    context = {
        "calls": service.talking(),
        "spies": service.spies(),
        "mine": next((s for s in service.spies() if s.supervisor_id == user.id), None),
        "audit": await service.audit.recent(),
        "sees_numbers": user.role in settings.security.board_numbers_for,
        "can_spy": user.role == "supervisor",
        "has_phone": bool(user.pbx and user.interface),
        "error": error,
        "when": when,
    }
    return render(request, "supervisor/spies.html", context, status=status)


def setup(app: web.Application) -> None:
    app.router.add_get(SPIES_PAGE, spies_page)
    app.router.add_post("/supervisor/calls/{call_key:.+}/spy", start_spy)
    app.router.add_post("/supervisor/calls/{call_key:.+}/spy/stop", stop_spy)

"""The panel's recording mute: the agent silences the recording of their own live call while
the citizen reads an ID or card number (web/static/recording_mute.js), then resumes it."""

from __future__ import annotations

from aiohttp import web

from agent_ui.call_control import CallControlService
from agent_ui.views.calls import _on_call
from web.auth import require_role


@require_role("agent")
async def mute(request: web.Request) -> web.Response:
    return await _on_call(request, CallControlService.mute_recording)


@require_role("agent")
async def unmute(request: web.Request) -> web.Response:
    return await _on_call(request, CallControlService.unmute_recording)


def setup(app: web.Application) -> None:
    app.router.add_post("/panel/call/recording/mute", mute)
    app.router.add_post("/panel/call/recording/unmute", unmute)

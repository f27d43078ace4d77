"""Playing a call's recording in the browser: one stable URL per call (`/calls/{id}/recording`,
what an evaluation links to), the audio served with HTTP range requests (aiohttp's
FileResponse: 206, Content-Range, If-Range), and every play in the PDPA view log.

Who may listen (PDPA: only those who need it): supervisors, who audit the service and will
evaluate calls; and the call's own agent, who is evaluated on it and may acknowledge or
dispute. Not other agents, and not admins: managing accounts and phones needs no citizen's
voice. The file is looked up through `calls.recording_files`, which serves nothing outside
the folder shared with Asterisk.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from calls.recordings import CallRecording
from cases.dates import as_era, as_lang, format_datetime
from web.auth import require_role, signed_in
from web.i18n import request_language
from web.keys import clock_key, recording_folder_key, recordings_key, settings_key
from web.templating import render

ROLES = ("supervisor", "agent")


async def _recording(request: web.Request) -> CallRecording:
    """The call's recording, if this user may hear it (404 when there is none)."""
    call_id = request.match_info["call_id"]
    if not call_id.isdigit() or len(call_id) > 18:
        raise web.HTTPNotFound()
    recording = await request.app[recordings_key].of_call(int(call_id))
    if recording is None:
        raise web.HTTPNotFound()
    user = signed_in(request)
    if user.role == "agent" and recording.agent_user_id != user.id:
        raise web.HTTPForbidden(text="only the call's own agent and supervisors may listen")
    return recording


@require_role(*ROLES)
async def recording_page(request: web.Request) -> web.Response:
    recording = await _recording(request)
    settings = request.app[settings_key]
    lang = as_lang(request_language(request, settings.language))
    era = as_era(settings.era)

    def when(value: datetime | None) -> str:
        return format_datetime(value, era, lang, seconds=True, tz=settings.tz)

    mutes = await request.app[recordings_key].mutes(recording.call_key)
    return render(
        request,
        "recordings/call.html",
        {"recording": recording, "mutes": mutes, "when": when},
    )


@require_role(*ROLES)
async def recording_audio(request: web.Request) -> web.StreamResponse:
    """The WAV, ranges and all; a play is logged when it starts from the beginning (the
    first request of an <audio> element), not for each range a seek asks for."""
    recording = await _recording(request)
    path = request.app[recording_folder_key].path_of(recording.file_name)
    if path is None:
        raise web.HTTPNotFound(text="the recording file is not there")
    try:
        start = request.http_range.start
    except ValueError:
        start = -1  # a malformed Range: FileResponse answers 416, nothing is played
    if start in (None, 0):
        now = request.app[clock_key].now()
        await request.app[recordings_key].played(recording.call_id, signed_in(request).id, now)
    headers = {"Content-Type": "audio/wav", "Cache-Control": "no-store"}
    return web.FileResponse(path, headers=headers)


def setup(app: web.Application) -> None:
    app.router.add_get("/calls/{call_id}/recording", recording_page)
    app.router.add_get("/calls/{call_id}/recording.wav", recording_audio)

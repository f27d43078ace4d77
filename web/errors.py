"""One place that turns failures into pages or JSON, never into a traceback for users."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from web.auth import Handler
from web.templating import render

log = structlog.get_logger()

_MESSAGES = {403: "error.forbidden", 404: "error.not_found"}


def _wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept or request.path.startswith("/api/")


def _status_of(exc: Exception) -> tuple[int, str, dict[str, Any]] | None:
    """Domain errors carry a stable `code` and optionally an HTTP `status`."""
    code = getattr(exc, "code", None)
    if not isinstance(code, str):
        return None
    status = getattr(exc, "status", 400)
    details = getattr(exc, "details", {})
    return int(status), code, details if isinstance(details, dict) else {}


def _render(request: web.Request, status: int, code: str, message: str) -> web.StreamResponse:
    if _wants_json(request):
        return web.json_response({"error": code, "message": message}, status=status)
    key = "error.csrf" if message == "csrf" else _MESSAGES.get(status, "")
    context = {"status": status, "code": code, "message_key": key, "message": message}
    return render(request, "error.html", context, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _render(request, exc.status, exc.reason.lower().replace(" ", "-"), exc.text or "")
    except Exception as exc:
        known = _status_of(exc)
        if known is None:
            log.exception("request_failed", path=request.path)
            return _render(request, 500, "internal-error", "")
        status, code, _details = known
        return _render(request, status, code, str(exc))

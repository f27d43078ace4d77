"""Who is asking: server-side sessions that expire, roles and CSRF (passwords themselves are
hashed and checked by accounts.passwords).

Sessions live in PostgreSQL (only a SHA-256 of the cookie is stored), so logging out or
disabling a user takes effect at once on every tab. Every state-changing request must
carry the session's CSRF token, as a form field or the X-CSRF-Token header.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from accounts.passwords import Passwords
from accounts.users import User
from web.client import is_https
from web.identity import csrf_rkey, current_user, user_rkey
from web.keys import clock_key, settings_key, users_key, workers_key

log = structlog.get_logger()

SESSION_COOKIE = "hotline_session"
LOGIN_CSRF_COOKIE = "hotline_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)


def passwords(app: web.Application) -> Passwords:
    """Password hashing on the service's own hashing threads (runtime.workers)."""
    return Passwords(app[workers_key].hashing)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def signed_in(request: web.Request) -> User:
    """The user behind a guarded handler (`require_role` already sent anonymous ones away)."""
    user = current_user(request)
    if user is None:
        raise web.HTTPUnauthorized(text="log in first")
    return user


def require_role(*roles: str) -> Callable[[H], H]:
    """Guard a handler: anonymous users go to the login page, others need one of `roles`."""

    def decorate(handler: H) -> H:
        async def guarded(request: web.Request) -> web.StreamResponse:
            user = current_user(request)
            if user is None:
                if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
                    raise web.HTTPFound(f"/login?next={request.path_qs}")
                raise web.HTTPUnauthorized(text="log in first")
            if roles and user.role not in roles:
                raise web.HTTPForbidden(text="this page is not for your role")
            return await handler(request)

        guarded.__name__ = handler.__name__
        guarded.__doc__ = handler.__doc__
        # Read by the access-matrix test, so no route is left without a rule.
        guarded.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def signed_by_sender(handler: H) -> H:
    """Mark a handler that machines call (LINE's webhook) and that verifies the request's
    own signature instead: no session, so no CSRF token to check."""
    handler.signed_by_sender = True  # type: ignore[attr-defined]
    return handler


@contextlib.asynccontextmanager
async def session_kept_alive(request: web.Request) -> AsyncIterator[None]:
    """While a long-lived request runs (the panel's WebSocket), its session counts as in use:
    an agent watching calls arrive on the panel is not idle, though no page is requested."""
    token = request.cookies.get(SESSION_COOKIE)
    app = request.app
    every_s = min(60.0, app[settings_key].security.idle.total_seconds() / 3)

    async def touch() -> None:
        while token:
            await asyncio.sleep(every_s)
            now = app[clock_key].now()
            try:
                await app[users_key].session(
                    token_hash(token), now, app[settings_key].security.idle
                )
            except Exception:
                log.warning("session_keep_alive_failed", exc_info=True)  # retried next time

    task = asyncio.create_task(touch(), name="session-keep-alive")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the logged-in user and enforce CSRF on every state-changing request."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        session = await request.app[users_key].session(
            token_hash(token),
            request.app[clock_key].now(),
            request.app[settings_key].security.idle,
        )
        if session is not None:
            request[user_rkey] = session.user
            request[csrf_rkey] = session.csrf_token
    if csrf_rkey not in request:
        request[csrf_rkey] = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    signed = getattr(request.match_info.handler, "signed_by_sender", False)
    if request.method not in SAFE_METHODS and not signed:
        await _check_csrf(request)
    response = await handler(request)
    anonymous = user_rkey not in request
    if anonymous and request.cookies.get(LOGIN_CSRF_COOKIE) != request[csrf_rkey]:
        set_cookie(request, response, LOGIN_CSRF_COOKIE, request[csrf_rkey], None)
    return response


async def _check_csrf(request: web.Request) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        sent = str((await request.post()).get(CSRF_FIELD, ""))
    expected = request[csrf_rkey]
    if user_rkey not in request and request.cookies.get(LOGIN_CSRF_COOKIE) != expected:
        expected = ""
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        log.warning("csrf_rejected", path=request.path)
        raise web.HTTPForbidden(reason="CSRF token missing or wrong", text="csrf")


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    max_age: int | None,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=serves_https(request),
        path="/",
    )


def serves_https(request: web.Request) -> bool:
    """Cookies are Secure (and HSTS is sent) when configured so, or whenever the request came
    over HTTPS, directly or through a trusted proxy: secure by default behind HTTPS."""
    return request.app[settings_key].secure_cookies or is_https(request)


def see_other(location: str) -> web.Response:
    """A 303 after a form post, so a reload never posts twice."""
    return web.Response(status=303, headers={"Location": location})


def safe_next(target: str | None) -> str:
    """Only a path on this site: a login or language link must never send people elsewhere.

    Browsers read a backslash as a slash and drop tabs and newlines, so `/\\evil.example`
    and `/<tab>/evil.example` mean `//evil.example`, another site: anything with those, or
    any control character, is refused as well as `//` and absolute URLs.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target

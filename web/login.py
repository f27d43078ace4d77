"""The login and logout pages; the mechanism behind them is in web.auth, the password check
in accounts.passwords."""

from __future__ import annotations

import secrets
from datetime import timedelta

import structlog
from aiohttp import web

from accounts.users import ROLES
from web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    passwords,
    require_role,
    safe_next,
    see_other,
    set_cookie,
    signed_in,
    token_hash,
)
from web.client import client_address
from web.keys import (
    SessionHook,
    clock_key,
    login_throttle_key,
    session_closed_key,
    session_opened_key,
    settings_key,
    users_key,
)
from web.templating import render

log = structlog.get_logger()


async def login_page(request: web.Request) -> web.Response:
    context = {
        "next": safe_next(request.query.get("next")),
        "error": None,
        "username": "",
        "wait_s": 0,
    }
    return render(request, "login.html", context)


def _refused(
    request: web.Request, target: str, username: str, error: str, status: int, wait_s: int = 0
) -> web.Response:
    context = {"next": target, "error": error, "username": username, "wait_s": wait_s}
    response = render(request, "login.html", context, status=status)
    if wait_s:
        response.headers["Retry-After"] = str(wait_s)
    return response


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = str(form.get("username", "")).strip().lower()[:64]
    password = str(form.get("password", ""))
    target = safe_next(str(form.get("next", "")))
    throttle, address = request.app[login_throttle_key], client_address(request)
    now = request.app[clock_key].now()
    wait_s = throttle.wait_s(username, address, now)
    if wait_s:
        # Refused before any hashing: a flood costs no CPU and does not lengthen the wait.
        log.info("login_throttled", username=username, address=address, wait_s=wait_s)
        return _refused(request, target, username, "login.throttled", 429, wait_s)
    found = await request.app[users_key].credentials(username)
    checker = passwords(request.app)
    # Checked whether or not the name exists or is active, so every refusal costs the same.
    matches = await checker.verify(found[1] if found else None, password)
    if found is None or not found[0].active or not matches:
        log.info("login_failed", username=username, address=address)
        throttle.failed(username, address, request.app[clock_key].now())
        return _refused(request, target, username, "login.failed", 401)
    throttle.succeeded(username)
    user, stored_hash = found
    if checker.needs_rehash(stored_hash):
        await request.app[users_key].set_password_hash(user.id, await checker.hash(password))
    token = secrets.token_urlsafe(32)
    hours = request.app[settings_key].session_hours
    expires = request.app[clock_key].now() + timedelta(hours=hours)
    await request.app[users_key].open_session(
        token_hash(token),
        user.id,
        secrets.token_urlsafe(24),
        expires,
        now=request.app[clock_key].now(),
        keep=request.app[settings_key].security.max_sessions_per_user,
    )
    log.info("login", user=user.username, role=user.role)
    await _tell(request.app[session_opened_key], user.id)
    response = see_other(target)
    set_cookie(request, response, SESSION_COOKIE, token, int(hours * 3600))
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        users = request.app[users_key]
        now, idle = request.app[clock_key].now(), request.app[settings_key].security.idle
        session = await users.session(token_hash(token), now, idle)
        await users.close_session(token_hash(token))
        if session is not None:
            await sessions_closed(request.app, session.user.id)
    response = see_other("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@require_role(*ROLES)
async def sign_out_everywhere(request: web.Request) -> web.StreamResponse:
    """Every session of the signed-in user ends: other browsers, a phone left logged in."""
    user = signed_in(request)
    await request.app[users_key].close_sessions_of(user.id)
    await sessions_closed(request.app, user.id)
    log.info("signed_out_everywhere", user=user.username)
    response = see_other("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def sessions_closed(app: web.Application, user_id: int) -> None:
    """Tell the parts that follow sessions (the panel's presence) that `user_id` lost one or
    all of theirs: a logout, "log out everywhere", an admin's sign-out."""
    await _tell(app[session_closed_key], user_id)


async def _tell(hooks: list[SessionHook], user_id: int) -> None:
    for hook in hooks:
        try:
            await hook(user_id)
        except Exception:
            log.exception("session_hook_failed", user=user_id)


def setup(app: web.Application) -> None:
    app[session_opened_key] = []
    app[session_closed_key] = []
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    app.router.add_post("/logout/everywhere", sign_out_everywhere)

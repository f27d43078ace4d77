"""The login and logout pages; the mechanism behind them is in web.auth, the password check
in accounts.passwords."""

from __future__ import annotations

import secrets
from datetime import timedelta

import structlog
from aiohttp import web

from web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    passwords,
    safe_next,
    see_other,
    set_cookie,
    token_hash,
)
from web.keys import (
    SessionHook,
    clock_key,
    session_closed_key,
    session_opened_key,
    settings_key,
    users_key,
)
from web.templating import render

log = structlog.get_logger()


async def login_page(request: web.Request) -> web.Response:
    context = {"next": safe_next(request.query.get("next")), "error": None, "username": ""}
    return render(request, "login.html", context)


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = str(form.get("username", "")).strip().lower()[:64]
    password = str(form.get("password", ""))
    target = safe_next(str(form.get("next", "")))
    found = await request.app[users_key].credentials(username)
    checker = passwords(request.app)
    # Checked whether or not the name exists or is active, so every refusal costs the same.
    matches = await checker.verify(found[1] if found else None, password)
    if found is None or not found[0].active or not matches:
        log.info("login_failed", username=username)
        context = {"next": target, "error": "login.failed", "username": username}
        return render(request, "login.html", context, status=401)
    user, stored_hash = found
    if checker.needs_rehash(stored_hash):
        await request.app[users_key].set_password_hash(user.id, await checker.hash(password))
    token = secrets.token_urlsafe(32)
    hours = request.app[settings_key].session_hours
    expires = request.app[clock_key].now() + timedelta(hours=hours)
    await request.app[users_key].open_session(
        token_hash(token), user.id, secrets.token_urlsafe(24), expires
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
        session = await users.session(token_hash(token), request.app[clock_key].now())
        await users.close_session(token_hash(token))
        if session is not None:
            await _tell(request.app[session_closed_key], session.user.id)
    response = see_other("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


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

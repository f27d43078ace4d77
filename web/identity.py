"""Who this request is from: the signed-in user and the CSRF token the session middleware found.

Kept apart from the middleware (web.auth) so that what only reads them, such as the choice of
a page's language, does not depend on how sessions work.
"""

from __future__ import annotations

from aiohttp import web

from accounts.users import User

user_rkey = web.RequestKey("user", User)
csrf_rkey = web.RequestKey("csrf_token", str)


def current_user(request: web.Request) -> User | None:
    return request.get(user_rkey)


def csrf_token(request: web.Request) -> str:
    """The token forms must send back: the session's, or the login page's own."""
    return request.get(csrf_rkey, "")

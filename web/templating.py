"""Jinja2 for every page: autoescaping always on, and what each page may use.

A small renderer of our own rather than aiohttp-jinja2, whose string request keys raise
warnings on current aiohttp.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from web.i18n import request_language
from web.identity import csrf_token, current_user
from web.keys import catalog_key, settings_key

jinja_key = web.AppKey("jinja", jinja2.Environment)
STATIC_DIR = Path(__file__).with_name("static")


def page_context(request: web.Request) -> dict[str, Any]:
    """The user, the CSRF token, the language and its `t()` lookup for every template."""
    app = request.app
    lang = request_language(request, app[settings_key].language)
    return {
        "request": request,
        "user": current_user(request),
        "csrf_token": csrf_token(request),
        "lang": lang,
        "era": app[settings_key].era,
        "t": partial(app[catalog_key].text, lang=lang),
    }


def setup_templates(app: web.Application) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        enable_async=False,
    )
    app[jinja_key] = env
    return env


def render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    """Render `template` with the page context plus `context` as an HTML response."""
    env = request.app[jinja_key]
    html = env.get_template(template).render({**page_context(request), **context})
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

"""The admin pages: people, their phones and the queues they serve, for role admin only.

Forms keep everything typed except passwords and show each error beside its field; every
change goes through `accounts.management`, which writes it together with its audit row.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from aiohttp import web

from accounts.management import (
    LANGUAGES,
    AdminRepository,
    InvalidAccount,
    UserRow,
    parse_account,
    parse_new_account,
    password_errors,
    split_queues,
)
from accounts.users import ROLES
from admin import queues
from cases.dates import as_lang, format_datetime
from web.auth import passwords, require_role, see_other, signed_in
from web.forms import clean, text_fields
from web.i18n import request_language
from web.keys import accounts_key, cases_key, clock_key, settings_key
from web.login import sessions_closed
from web.templating import render

ACCOUNT_FIELDS = ("display_name", "role", "unit_id", "pbx", "interface", "language")
PASSWORD_FIELDS = ("password", "password2")
FORM_FIELDS = ("username", *ACCOUNT_FIELDS, *PASSWORD_FIELDS)
# What a page may announce after a successful post (?done=...); anything else is ignored.
DONE = ("created", "saved", "password_reset", "deactivated", "reactivated", "signed_out")

Values = dict[str, str]


def setup(app: web.Application) -> None:
    queues.setup(app)
    app.router.add_get("/admin/users", users_page)
    app.router.add_get("/admin/users/new", new_user_page)
    app.router.add_post("/admin/users/new", new_user_submit)
    app.router.add_get(r"/admin/users/{id:\d+}", user_page)
    app.router.add_post(r"/admin/users/{id:\d+}", edit_submit)
    app.router.add_post(r"/admin/users/{id:\d+}/password", password_submit)
    app.router.add_post(r"/admin/users/{id:\d+}/deactivate", deactivate_submit)
    app.router.add_post(r"/admin/users/{id:\d+}/reactivate", reactivate_submit)
    app.router.add_post(r"/admin/users/{id:\d+}/sign-out", sign_out_submit)


def _repo(request: web.Request) -> AdminRepository:
    return request.app[accounts_key]


def _pbx_names(request: web.Request, row: UserRow | None = None) -> list[str]:
    """The configured PBXs, and the user's own even if no longer configured, so editing
    someone's name never forces a change of phone."""
    names = [pbx.name for pbx in request.app[settings_key].pbx]
    own = row.user.pbx if row else None
    return [*names, own] if own and own not in names else names


async def _posted(request: web.Request) -> tuple[Values, list[str]]:
    """The form's text fields (without the NUL characters PostgreSQL refuses) and every
    value given for `queues` (checkboxes and the comma-separated text field)."""
    form = await request.post()
    queues = [clean(v) for v in form.getall("queues", []) if isinstance(v, str)]
    return text_fields(form, FORM_FIELDS), queues


async def _user_row(request: web.Request) -> UserRow:
    user_id = int(request.match_info["id"])
    row = await _repo(request).get(user_id) if user_id < 2**63 else None
    if row is None:
        raise web.HTTPNotFound()
    return row


async def _form_context(
    request: web.Request,
    values: Values,
    queues: list[str],
    errors: dict[str, str],
    row: UserRow | None = None,
) -> dict[str, Any]:
    """What the account form offers, and what was typed, without any password."""
    known = await _repo(request).queue_names()
    chosen = split_queues(queues)
    units = await request.app[cases_key].list_units()
    return {
        "roles": ROLES,
        "languages": LANGUAGES,
        "unit_choices": [(str(unit.id), unit.name) for unit in units],
        "pbx_choices": [(name, name) for name in _pbx_names(request, row)],
        "known_queues": known,
        "values": {k: v for k, v in values.items() if k not in PASSWORD_FIELDS},
        "chosen_queues": chosen,
        "other_queues": ", ".join(q for q in chosen if q not in known),
        "errors": errors,
    }


def _account_values(row: UserRow) -> tuple[Values, list[str]]:
    user = row.user
    values = {
        "display_name": user.display_name,
        "role": user.role,
        "unit_id": "" if user.unit_id is None else str(user.unit_id),
        "pbx": user.pbx or "",
        "interface": user.interface or "",
        "language": user.language,
    }
    return values, list(row.queues)


async def _all_errors(
    request: web.Request, values: Values, exc: InvalidAccount, *, user_id: int | None
) -> dict[str, str]:
    """The form's mistakes and, with them, a username or phone someone else has."""
    return {**await _repo(request).taken(values, user_id=user_id), **exc.field_errors}


@require_role("admin")
async def users_page(request: web.Request) -> web.Response:
    role = request.query.get("role", "")
    rows = await _repo(request).list_users(role if role in ROLES else None)
    context = {"rows": rows, "roles": ROLES, "role": role if role in ROLES else ""}
    return render(request, "admin/users.html", context)


async def _new_user_form(
    request: web.Request,
    values: Values,
    queues: list[str],
    errors: dict[str, str],
    status: int = 200,
) -> web.Response:
    context = await _form_context(request, values, queues, errors)
    return render(request, "admin/new_user.html", context, status=status)


@require_role("admin")
async def new_user_page(request: web.Request) -> web.Response:
    names = _pbx_names(request)
    values = {"role": "agent", "language": "th", "pbx": names[0] if len(names) == 1 else ""}
    return await _new_user_form(request, values, [], {})


@require_role("admin")
async def new_user_submit(request: web.Request) -> web.StreamResponse:
    values, queues = await _posted(request)
    try:
        username, account = parse_new_account(values, queues, pbx_names=_pbx_names(request))
        user_id = await _repo(request).create(
            username,
            account,
            await passwords(request.app).hash(values["password"]),
            actor_id=signed_in(request).id,
            at=request.app[clock_key].now(),
        )
    except InvalidAccount as exc:
        errors = await _all_errors(request, values, exc, user_id=None)
        return await _new_user_form(request, values, queues, errors, status=422)
    return see_other(f"/admin/users/{user_id}?done=created")


async def _user_page(
    request: web.Request,
    row: UserRow,
    *,
    values: Values | None = None,
    queues: list[str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """The user's facts, the edit form, password reset, (de)activation and the audit."""
    settings = request.app[settings_key]
    lang = as_lang(request_language(request, settings.language))
    if values is None or queues is None:
        values, queues = _account_values(row)
    done = request.query.get("done", "")
    context = {
        **await _form_context(request, values, queues, errors or {}, row),
        "row": row,
        "audit": await _repo(request).audit(row.user.id),
        "fmt_dt": partial(format_datetime, era=settings.era, lang=lang),
        "done": done if done in DONE and status == 200 else "",
    }
    return render(request, "admin/user.html", context, status=status)


@require_role("admin")
async def user_page(request: web.Request) -> web.Response:
    return await _user_page(request, await _user_row(request))


@require_role("admin")
async def edit_submit(request: web.Request) -> web.StreamResponse:
    row = await _user_row(request)
    values, queues = await _posted(request)
    try:
        account = parse_account(values, queues, pbx_names=_pbx_names(request, row))
        await _repo(request).update(
            row.user.id, account, actor_id=signed_in(request).id, at=request.app[clock_key].now()
        )
    except InvalidAccount as exc:
        errors = await _all_errors(request, values, exc, user_id=row.user.id)
        return await _user_page(
            request, row, values=values, queues=queues, errors=errors, status=422
        )
    return see_other(f"/admin/users/{row.user.id}?done=saved")


@require_role("admin")
async def password_submit(request: web.Request) -> web.StreamResponse:
    row = await _user_row(request)
    values, _queues = await _posted(request)
    errors = password_errors(
        values.get("password", ""),
        values.get("password2", ""),
        username=row.user.username,
        display_name=row.user.display_name,
    )
    if errors:
        return await _user_page(request, row, errors=errors, status=422)
    await _repo(request).reset_password(
        row.user.id,
        await passwords(request.app).hash(values["password"]),
        actor_id=signed_in(request).id,
        at=request.app[clock_key].now(),
    )
    return see_other(f"/admin/users/{row.user.id}?done=password_reset")


async def _set_active(request: web.Request, active: bool) -> web.StreamResponse:
    row = await _user_row(request)
    try:
        await _repo(request).set_active(
            row.user.id, active, actor_id=signed_in(request).id, at=request.app[clock_key].now()
        )
    except InvalidAccount as exc:
        return await _user_page(request, row, errors=exc.field_errors, status=422)
    done = "reactivated" if active else "deactivated"
    return see_other(f"/admin/users/{row.user.id}?done={done}")


@require_role("admin")
async def deactivate_submit(request: web.Request) -> web.StreamResponse:
    return await _set_active(request, False)


@require_role("admin")
async def reactivate_submit(request: web.Request) -> web.StreamResponse:
    return await _set_active(request, True)


@require_role("admin")
async def sign_out_submit(request: web.Request) -> web.StreamResponse:
    row = await _user_row(request)
    await _repo(request).sign_out(
        row.user.id, actor_id=signed_in(request).id, at=request.app[clock_key].now()
    )
    await sessions_closed(request.app, row.user.id)
    return see_other(f"/admin/users/{row.user.id}?done=signed_out")

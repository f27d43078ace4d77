"""The knowledge base's pages: editors (supervisors and admins) write articles and attach
documents; agents, on the panel during a call, search, read an article and put its
documents in the caller's basket.

Editors are supervisors and admins, not a new role: the roles are the centre's
(agent/supervisor/admin) and a unit's, the people who answer for what agents tell callers
are the supervisors, and a new role would need its own accounts, menus and audit for no
one else. Agents read published articles only; drafts stay with the editors.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any
from urllib.parse import quote

import structlog
from aiohttp import web

from accounts.users import User
from calls.numbers import normalise
from cases.dates import Lang, as_era, as_lang, format_date, format_datetime
from cases.intake import EMAIL
from knowledge.articles import Article, ArticleContent
from knowledge.errors import KnowledgeError
from knowledge.sending import BasketMail
from web.auth import require_role, see_other, signed_in
from web.forms import text_fields
from web.i18n import request_language
from web.keys import (
    basket_mailer_key,
    cases_key,
    clock_key,
    knowledge_key,
    panel_key,
    settings_key,
)
from web.templating import render

log = structlog.get_logger()

EDITORS = ("supervisor", "admin")
READERS = ("agent", "supervisor", "admin")
ARTICLE_FIELDS = (
    "title_th",
    "title_en",
    "body_th",
    "body_en",
    "tags",
    "unit_id",
    "review_on",
    "published",
)
MAX_QUERY = 200


def _lang(request: web.Request) -> Lang:
    return as_lang(request_language(request, request.app[settings_key].language))


def _today(request: web.Request) -> date:
    return request.app[clock_key].now().astimezone(request.app[settings_key].tz).date()


def _published_only(user: User) -> bool:
    return user.role not in EDITORS


def _id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None


async def _context(request: web.Request, **values: Any) -> dict[str, Any]:
    settings = request.app[settings_key]
    era, lang = as_era(settings.era), _lang(request)
    return {
        "fmt_date": partial(format_date, era=era, lang=lang, tz=settings.tz),
        "fmt_dt": partial(format_datetime, era=era, lang=lang, tz=settings.tz),
        "today": _today(request),
        "units": await request.app[cases_key].list_units(),
        **values,
    }


@require_role(*EDITORS)
async def articles_page(request: web.Request) -> web.Response:
    articles = await request.app[knowledge_key].articles()
    return render(request, "knowledge/list.html", await _context(request, articles=articles))


def _form_values(article: Article) -> dict[str, str]:
    content = article.content
    return {
        "title_th": content.title_th,
        "title_en": content.title_en,
        "body_th": content.body_th,
        "body_en": content.body_en,
        "tags": ", ".join(content.tags),
        "unit_id": str(content.unit_id or ""),
        "review_on": content.review_on.isoformat() if content.review_on else "",
        "published": "on" if content.published else "",
    }


async def _edit_page(
    request: web.Request,
    article: Article | None,
    values: dict[str, str],
    error: str = "",
    status: int = 200,
) -> web.Response:
    revisions = await request.app[knowledge_key].revisions(article.id) if article else []
    context = await _context(
        request, article=article, values=values, error=error, revisions=revisions
    )
    return render(request, "knowledge/edit.html", context, status=status)


@require_role(*EDITORS)
async def new_article_page(request: web.Request) -> web.Response:
    return await _edit_page(request, None, {})


async def _parsed(request: web.Request) -> tuple[dict[str, str], ArticleContent | str]:
    """The posted fields and the article they make, or the refusal's reason."""
    values = text_fields(await request.post(), ARTICLE_FIELDS)
    try:
        return values, ArticleContent.parse(values)
    except KnowledgeError as exc:
        return values, exc.reason


@require_role(*EDITORS)
async def create_article(request: web.Request) -> web.Response:
    values, content = await _parsed(request)
    if isinstance(content, str):
        return await _edit_page(request, None, values, content, status=422)
    user = signed_in(request)
    try:
        article_id = await request.app[knowledge_key].create(
            content, user.id, request.app[clock_key].now()
        )
    except KnowledgeError as exc:
        return await _edit_page(request, None, values, exc.reason, status=422)
    log.info("knowledge_article_created", article=article_id, user=user.id)
    return see_other(f"/knowledge/{article_id}/edit")


async def _editable(request: web.Request) -> Article:
    article = await request.app[knowledge_key].article(_id(request), published_only=False)
    if article is None:
        raise web.HTTPNotFound()
    return article


@require_role(*EDITORS)
async def edit_article_page(request: web.Request) -> web.Response:
    article = await _editable(request)
    return await _edit_page(request, article, _form_values(article))


@require_role(*EDITORS)
async def update_article(request: web.Request) -> web.Response:
    article = await _editable(request)
    values, content = await _parsed(request)
    if isinstance(content, str):
        return await _edit_page(request, article, values, content, status=422)
    user = signed_in(request)
    try:
        await request.app[knowledge_key].update(
            article.id, content, user.id, request.app[clock_key].now()
        )
    except KnowledgeError as exc:
        return await _edit_page(request, article, values, exc.reason, status=422)
    log.info("knowledge_article_saved", article=article.id, user=user.id)
    return see_other(f"/knowledge/{article.id}/edit")


@require_role(*EDITORS)
async def upload_attachment(request: web.Request) -> web.Response:
    article = await _editable(request)
    upload = (await request.post()).get("file")
    if not isinstance(upload, web.FileField):
        return await _edit_page(request, article, _form_values(article), "empty", status=422)
    user = signed_in(request)
    try:
        await request.app[knowledge_key].add_attachment(
            article.id, upload.filename, upload.file.read(), user.id, request.app[clock_key].now()
        )
    except KnowledgeError as exc:
        log.info("knowledge_attachment_refused", article=article.id, reason=exc.reason)
        return await _edit_page(request, article, _form_values(article), exc.reason, status=422)
    return see_other(f"/knowledge/{article.id}/edit")


@require_role(*READERS)
async def search(request: web.Request) -> web.Response:
    """Articles matching every word of `q`, those with it in their title first."""
    query = request.query.get("q", "")[:MAX_QUERY]
    user, lang = signed_in(request), _lang(request)
    hits = await request.app[knowledge_key].search(query, published_only=_published_only(user))
    return web.json_response(
        {"hits": [{"id": h.id, "title": h.title(lang), "in_title": h.in_title} for h in hits]}
    )


@require_role(*READERS)
async def read_article(request: web.Request) -> web.Response:
    """One article for the panel: its body is sanitised HTML (knowledge.rich_text)."""
    user, lang = signed_in(request), _lang(request)
    found = await request.app[knowledge_key].article(
        _id(request), published_only=_published_only(user)
    )
    if found is None:
        raise web.HTTPNotFound()
    return web.json_response(
        {
            "id": found.id,
            "title": found.title(lang),
            "body_html": found.body(lang),
            "tags": list(found.content.tags),
            "overdue": found.overdue(_today(request)),
            "attachments": [
                {"id": a.id, "filename": a.filename, "size": a.size} for a in found.attachments
            ],
        }
    )


@require_role(*READERS)
async def download_attachment(request: web.Request) -> web.Response:
    """The document as the type its content was checked to be, always as a download."""
    user = signed_in(request)
    document = await request.app[knowledge_key].attachment(
        _id(request), published_only=_published_only(user)
    )
    if document is None:
        raise web.HTTPNotFound()
    disposition = f"attachment; filename*=UTF-8''{quote(document.filename, safe='')}"
    return web.Response(
        body=document.data,
        content_type=document.content_type,
        headers={"Content-Disposition": disposition},
    )


async def _own_call_key(request: web.Request, user: User, call_key: str) -> str:
    """`call_key` if it is the call on the agent's desk or one they took; else, as for a
    call that does not exist, 404."""
    panel = request.app[panel_key]
    if call_key and (
        (await panel.desk(user.id)).current(call_key) is not None
        or await panel.store.took_call(call_key, user)
    ):
        return call_key
    log.warning("basket_names_another_call", agent=user.id, call_key=call_key[:80])
    raise web.HTTPNotFound(text="not your call")


async def _basket_json(
    request: web.Request, call_key: str, status: int = 200, **extra: object
) -> web.Response:
    """The call's basket and the mails that carried it so far (and their state)."""
    lang = _lang(request)
    items = await request.app[knowledge_key].basket(call_key)
    sent = await request.app[basket_mailer_key].sent(call_key)
    return web.json_response(
        {
            **extra,
            "call_key": call_key,
            "sent": [
                {"to": m.to, "status": m.status.value, "documents": m.documents} for m in sent
            ],
            "items": [
                {
                    "attachment_id": item.attachment_id,
                    "filename": item.filename,
                    "size": item.size,
                    "article_title": item.article_title(lang),
                }
                for item in items
            ],
        },
        status=status,
    )


@require_role("agent")
async def basket(request: web.Request) -> web.Response:
    user = signed_in(request)
    call_key = await _own_call_key(request, user, request.query.get("call_key", ""))
    return await _basket_json(request, call_key)


async def _basket_form(request: web.Request) -> tuple[User, str, int]:
    user = signed_in(request)
    fields = text_fields(await request.post(), ("call_key", "attachment_id"))
    call_key = await _own_call_key(request, user, fields["call_key"])
    try:
        return user, call_key, int(fields["attachment_id"])
    except ValueError:
        raise web.HTTPUnprocessableEntity(text="attachment_id") from None


@require_role("agent")
async def add_to_basket(request: web.Request) -> web.Response:
    user, call_key, attachment_id = await _basket_form(request)
    now = request.app[clock_key].now()
    if not await request.app[knowledge_key].add_to_basket(call_key, attachment_id, user.id, now):
        raise web.HTTPNotFound()
    return await _basket_json(request, call_key)


@require_role("agent")
async def remove_from_basket(request: web.Request) -> web.Response:
    _user, call_key, attachment_id = await _basket_form(request)
    await request.app[knowledge_key].remove_from_basket(call_key, attachment_id)
    return await _basket_json(request, call_key)


@require_role("agent")
async def send_basket(request: web.Request) -> web.Response:
    """E-mail the basket to the address the agent read back to the caller and ticked as
    confirmed; the mail goes through the outbox, and the call keeps a record of it."""
    user = signed_in(request)
    fields = text_fields(await request.post(), ("call_key", "email", "confirmed"))
    call_key = await _own_call_key(request, user, fields["call_key"])
    address = fields["email"].strip()
    if not EMAIL.match(address) or len(address) > 254:
        return await _basket_json(request, call_key, 422, error="invalid_email")
    if fields["confirmed"] != "on":
        return await _basket_json(request, call_key, 422, error="confirm_needed")
    call = (await request.app[panel_key].desk(user.id)).current(call_key)
    basket_mail = BasketMail(
        call_key=call_key,
        to=address,
        lang=_lang(request),
        caller_name=call.caller_name if call else "",
        caller_number=normalise(call.caller_number) if call else None,
        case_id=call.case_id if call else None,
        case_reference=call.case_reference if call else None,
    )
    now = request.app[clock_key].now()
    mail_id = await request.app[basket_mailer_key].send(basket_mail, user.id, now)
    if mail_id is None:
        return await _basket_json(request, call_key, 409, error="basket_empty")
    log.info("basket_sent", agent=user.id, call_key=call_key, mail=mail_id)
    return await _basket_json(request, call_key)


def setup(app: web.Application) -> None:
    app.router.add_get("/knowledge", articles_page)
    app.router.add_get("/knowledge/new", new_article_page)
    app.router.add_post("/knowledge/new", create_article)
    app.router.add_get("/knowledge/search", search)
    app.router.add_get("/knowledge/articles/{id}", read_article)
    app.router.add_get("/knowledge/attachments/{id}", download_attachment)
    app.router.add_get("/knowledge/{id}/edit", edit_article_page)
    app.router.add_post("/knowledge/{id}/edit", update_article)
    app.router.add_post("/knowledge/{id}/attachments", upload_attachment)
    app.router.add_get("/panel/basket", basket)
    app.router.add_post("/panel/basket", add_to_basket)
    app.router.add_post("/panel/basket/remove", remove_from_basket)
    app.router.add_post("/panel/basket/send", send_basket)

"""The composition root: the one place that wires every package into a running service.

Each resource with a lifetime is one cleanup_ctx generator, started in the order appended
and stopped in reverse (aiohttp runs the code after `yield` only if the code before it
finished).
"""

from __future__ import annotations

from aiohttp import web

from accounts.login_throttle import LoginThrottle
from admin import views as admin
from agent_ui.views import calls as call_control
from agent_ui.views import cases, knowledge, panel
from agent_ui.views import recordings as recording_mute
from config.settings import Settings
from hotline.health import health_sources_key, healthz, metrics_view, watch_tasks
from hotline.lifetimes import (
    call_control_ctx,
    case_jobs_ctx,
    database_ctx,
    knowledge_ctx,
    panel_ctx,
    spy_ctx,
    survey_ctx,
    telephony_ctx,
)
from hotline.line_webhook import line_webhook
from hotline.mail_lifetime import mail_ctx
from runtime.clock import Clock, SystemClock
from runtime.metrics import Metrics
from runtime.tasks import TaskSupervisor
from runtime.workers import workers_ctx
from supervision import recordings, spy_views
from supervision import views as supervisor
from web import auth, login
from web.errors import error_middleware
from web.forms import refuse_nul_in_address
from web.i18n import LANG_COOKIE, LANGUAGES, Catalog
from web.identity import current_user
from web.keys import (
    catalog_key,
    clock_key,
    event_subscribers_key,
    login_throttle_key,
    metrics_key,
    settings_key,
    tasks_key,
    workers_key,
)
from web.security_headers import add_security_headers
from web.templating import STATIC_DIR, setup_templates


@web.middleware
async def _count_requests(request: web.Request, handler: auth.Handler) -> web.StreamResponse:
    response = await handler(request)
    request.app[metrics_key].http_requests.labels(f"{response.status // 100}xx").inc()
    return response


async def home(request: web.Request) -> web.StreamResponse:
    """Send each role to where its work is."""
    user = current_user(request)
    if user is None:
        raise web.HTTPFound("/login")
    destinations = {"agent": "/panel", "supervisor": "/supervisor", "admin": "/supervisor"}
    raise web.HTTPFound(destinations.get(user.role, "/cases"))


async def choose_language(request: web.Request) -> web.StreamResponse:
    lang = request.match_info["lang"]
    if lang not in LANGUAGES:
        raise web.HTTPNotFound()
    response = auth.see_other(auth.safe_next(request.query.get("next")))
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", path="/")
    return response


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """Build the whole service from its settings; nothing starts until the app runs."""
    app = web.Application(
        middlewares=[
            _count_requests,
            error_middleware,
            refuse_nul_in_address,
            auth.session_middleware,
        ],
        # An attachment is read whole: room for the largest allowed and the form around it.
        client_max_size=max(2 * 1024 * 1024, settings.knowledge.max_attachment_bytes + 65536),
    )
    app[settings_key] = settings
    app[clock_key] = clock or SystemClock()
    app[metrics_key] = Metrics()
    app[catalog_key] = Catalog.load()
    app[health_sources_key] = []
    app[login_throttle_key] = LoginThrottle(settings.security.throttle_rules())
    app[tasks_key] = TaskSupervisor(app[metrics_key].task_failures)
    watch_tasks(app, app[tasks_key])
    app[event_subscribers_key] = []
    setup_templates(app)
    app.on_response_prepare.append(add_security_headers)
    app.cleanup_ctx.append(workers_ctx(workers_key))
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(mail_ctx)
    app.cleanup_ctx.append(knowledge_ctx)
    app.cleanup_ctx.append(telephony_ctx)
    app.cleanup_ctx.append(survey_ctx)
    app.cleanup_ctx.append(case_jobs_ctx)
    app.cleanup_ctx.append(panel_ctx)
    app.cleanup_ctx.append(call_control_ctx)
    app.cleanup_ctx.append(spy_ctx)

    app.router.add_get("/", home)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    app.router.add_post("/line/webhook", line_webhook)
    app.router.add_get("/lang/{lang}", choose_language)
    app.router.add_static("/static", STATIC_DIR, name="static")
    login.setup(app)
    supervisor.setup(app)
    cases.setup(app)
    admin.setup(app)
    panel.setup(app)
    call_control.setup(app)
    spy_views.setup(app)
    knowledge.setup(app)
    recording_mute.setup(app)
    recordings.setup(app)
    return app

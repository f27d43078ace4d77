"""Every setting reaches the code that uses it.

The service is started once with a value other than the default for every setting, and each
setting is then found where it does its work: in the repository, job or service the
composition root built, in a page, or in the running process. A new setting with no entry
here fails `test_every_setting_has_a_check`, so none can be lost on the way again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import fields
from datetime import date, time, timedelta
from ipaddress import ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from pydantic import BaseModel

from accounts.users import UserRepository
from cases.lifecycle import CaseType
from cases.lifecycle import Status as CaseStatus
from config.settings import PbxSettings, Settings, load_settings
from hotline.app import create_app
from hotline.health import health_sources_key
from ivr.config import SurveySettings
from supervision.views import thresholds_of
from tests.foundation.conftest import PASSWORD, csrf_from
from tests.foundation.processes import clean_environment, free_port, hotline
from tests.passwords import password_hash
from web.auth import SESSION_COOKIE
from web.keys import (
    call_control_key,
    cases_key,
    db_key,
    escalation_key,
    knowledge_key,
    login_throttle_key,
    mail_dispatcher_key,
    notice_dispatcher_key,
    panel_key,
    presence_key,
    recorder_key,
    recording_folder_key,
    retention_key,
    settings_key,
    spy_key,
    survey_key,
    surveys_key,
    tasks_key,
    telephony_key,
)
from web.templating import page_context

ZONE = "America/New_York"

STANDARDS = {
    "greeting_max_s": 41.0,
    "inquiry_min_s": 123.0,
    "inquiry_max_s": 456.0,
    "closing_max_s": 42.0,
    "wrapup_s": 17.0,
    "satisfaction_target": 0.9,
    "sl_threshold_s": 33.0,
    "short_abandon_s": 7.0,
    "fcr_days": 3,
}
CASES: dict[str, Any] = {
    "sla_days": {CaseType.COMPLAINT: 15},
    "survey_days": 5,
    "office_opens": time(9, 15),
    "office_closes": time(17, 45),
    "holiday_categories": ("public",),
    "closed_days": [date(2027, 1, 4)],
    "escalation_chain": [{"name": "director", "grace_working_days": 4}],
    "escalation_interval_s": 77.0,
    "retention_years": 5,
    "retention_interval_s": 999.0,
}
CALL_CONTROL: dict[str, Any] = {
    "agent_context": "agents-two",
    "callback_caller_id": '"Centre" <1111>',
    "agent_extension_prefix": "7",
    "queue_extensions": {"general": "1555"},
}
SHIFT: dict[str, Any] = {
    "pause_codes": [{"code": "prayer", "th": "ละหมาด", "en": "Prayer"}],
    "wrapup_codes": [{"code": "sold", "th": "ขายได้", "en": "Sold"}],
    "presence_sweep_s": 12.0,
}
REPORTS: dict[str, Any] = {"root_causes": [{"code": "flood", "th": "น้ำท่วม", "en": "Flood"}]}
# Survey settings are written as in the TOML file: seconds, "HH:MM", plain strings.
SURVEY_TEXT = {
    "mode": "in_call",
    "timezone": "Asia/Tokyo",
    "dial_template": "PJSIP/{number}@other-trunk",
    "context": "survey-two",
    "exten": "t",
    "caller_id": '"Survey" <1662>',
    "language": "en",
    "agi_host": "127.0.0.3",
    "agi_allowed_peers": ["127.0.0.0/8"],
    "opt_out_digit": "8",
    "sounds_dir": "/var/lib/hotline-sounds",
    "followup_pbx": "lab",
}


def _other_than_default(name: str, default: Any) -> Any:
    """A valid survey value other than the default, in the file's own form."""
    if name in SURVEY_TEXT:
        return SURVEY_TEXT[name]
    if isinstance(default, bool):
        return not default
    if isinstance(default, int | float):
        return default + 1
    if isinstance(default, timedelta):
        return default.total_seconds() + 60
    if isinstance(default, time):
        return time(default.hour + 1, default.minute).isoformat("minutes")
    if name == "backoff":
        return [61, 3601]
    raise AssertionError(f"no test value for survey setting {name}")


SURVEY = {
    f.name: _other_than_default(f.name, getattr(SurveySettings, f.name, None))
    for f in fields(SurveySettings)
}


SECURITY: dict[str, Any] = {
    "trusted_proxies": ["10.9.0.0/16"],
    "login_free_per_username": 4,
    "login_free_per_address": 9,
    "login_first_wait_s": 3.0,
    "login_max_wait_s": 60.0,
    "monitoring_token": "reach-token-1",
    "idle_minutes": 45.0,
    "max_sessions_per_user": 2,
    "board_numbers_for": ["supervisor", "admin"],
}

KNOWLEDGE = {"max_attachment_bytes": 3_000_000}
MAIL: dict[str, Any] = {
    "enabled": True,
    "smtp_host": "smtp.reach.test",
    "smtp_port": 2525,
    "security": "tls",
    "smtp_username": "relay-user",
    "smtp_password": "relay-secret",
    "from_address": "1111@reach.test",
    "timeout_s": 7.0,
    "interval_s": 8.0,
    "batch": 9,
}
MAIL_RETRY = {"max_attempts": 3, "first_retry_s": 11.0, "max_retry_s": 99.0, "lease_s": 44.0}
NOTICES: dict[str, Any] = {
    "enabled": False,
    "steps": ["forwarded", "resolved"],
    "language": "en",
    "agency": "Reach Agency",
    "hotline": "1111",
    "interval_s": 5.0,
    "batch": 6,
    "max_attempts": 4,
    "first_retry_s": 12.0,
    "max_retry_s": 120.0,
    "sms": {
        "url": "http://sms.reach.test/send",
        "token": "sms-t",
        "sender": "REACH",
        "timeout_s": 3.0,
    },
    "line": {
        "api_base": "http://line.reach.test",
        "channel_access_token": "line-t",
        "channel_secret": "line-s",
        "timeout_s": 4.0,
    },
}


def _sent_with(name: str) -> Check:
    return lambda app: getattr(app[mail_dispatcher_key].sender.settings, name)


def _noticed_with(path: str) -> Check:
    def read(app: web.Application) -> Any:
        value: Any = app[notice_dispatcher_key]
        for part in path.split("."):
            value = getattr(value, part)
        return value.get_secret_value() if hasattr(value, "get_secret_value") else value

    return read


def _task_running(name: str) -> Check:
    return lambda app: name in {task.name for task in app[tasks_key].health()}


RECORDING: dict[str, Any] = {
    "enabled": True,
    "folder": Path("/srv/reach-recordings"),
    "pbx_folder": "/srv/asterisk-monitor",
}


AGI_HOST = "127.0.0.2"
AGI_PORT = free_port(AGI_HOST)
PBX_PORT = free_port()
# A CA certificate (its key thrown away): the link must trust it and nothing else.
REACH_CA = Path(__file__).resolve().parents[1] / "fixtures" / "tls" / "reach-ca.pem"


def _settings(database_url: str, data_dir: Path) -> Settings:
    return load_settings(
        database_url=database_url,
        data_dir=data_dir,
        agi_host=AGI_HOST,
        agi_port=AGI_PORT,
        pbx=[
            {
                "name": "lab",
                "host": "127.0.0.1",
                "port": PBX_PORT,
                "username": "u",
                "secret": "s",
                "tls": True,
                "tls_ca_file": REACH_CA,
                "tls_server_name": "pbx.reach.test",
                "queue_log_table": "asterisk.queue_log",
            }
        ],
        timezone=ZONE,
        standards=STANDARDS,
        cases=CASES,
        call_control=CALL_CONTROL,
        spy={"ring_timeout_s": 33},
        shift=SHIFT,
        survey={k: v for k, v in SURVEY.items() if k not in ("agi_host", "agi_port")},
        language="en",
        era="ce",
        session_hours=3,
        secure_cookies=True,
        security=SECURITY,
        reports=REPORTS,
        knowledge=KNOWLEDGE,
        mail={**MAIL, **MAIL_RETRY, "tls_ca_file": REACH_CA},
        notices=NOTICES,
        recording=RECORDING,
    )


@pytest.fixture
async def running(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[TestClient]:
    app = create_app(_settings(fresh_db_url, tmp_path))
    async with TestClient(TestServer(app)) as client:
        yield client


Check = Callable[[web.Application], Any]


def _calendar(app: web.Application) -> Any:
    return app[cases_key].policy.calendar


def _page(app: web.Application) -> dict[str, Any]:
    return page_context(make_mocked_request("GET", "/", app=app))


def _survey(name: str) -> Check:
    return lambda app: getattr(app[survey_key].settings, name)


def _call_control(name: str) -> Check:
    return lambda app: getattr(app[call_control_key].settings, name)


def _lab(name: str) -> Check:
    return lambda app: getattr(app[telephony_key].link("lab").config, name)


def _trusted_cas(app: web.Application) -> list[Any]:
    tls = app[telephony_key].link("lab").tls
    return [] if tls is None else [ca["subject"] for ca in tls.get_ca_certs()]


# setting -> (what the consumer must hold, where it is read)
def _queue_log_kinds(app: web.Application) -> list[str]:
    """A PBX with a queue_log table has its gaps recovered (a service on /healthz); one
    without only an advisory."""
    parts = [part for source in app[health_sources_key] for part in source()]
    return [part.kind for part in parts if part.name == "queue_log:lab"]


CHECKS: dict[str, tuple[Any, Check]] = {
    "agi_port": (AGI_PORT, lambda app: app[survey_key].fastagi.port),
    "agi_host": (AGI_HOST, lambda app: app[survey_key].settings.agi_host),
    "pbx.name": (["lab"], lambda app: [h.name for h in app[telephony_key].health()]),
    "pbx.host": ("127.0.0.1", _lab("host")),
    "pbx.port": (PBX_PORT, _lab("port")),
    "pbx.username": ("u", _lab("username")),
    "pbx.secret": ("s", _lab("secret")),
    "pbx.tls": (True, lambda app: app[telephony_key].link("lab").tls is not None),
    "pbx.tls_ca_file": ([((("commonName", "Hotline Reach Test CA"),),)], _trusted_cas),
    "pbx.tls_server_name": ("pbx.reach.test", _lab("tls_server_name")),
    "pbx.queue_log_table": (["service"], _queue_log_kinds),
    "timezone": (
        [ZoneInfo(ZONE)] * 4,
        lambda app: [
            _calendar(app).tz,
            app[escalation_key].calendar.tz,
            app[retention_key].tz,
            ZoneInfo(app[surveys_key].timezone),
        ],
    ),
    "standards.greeting_max_s": (41.0, lambda app: app[panel_key].standards.greeting.max_s),
    "standards.inquiry_min_s": (123.0, lambda app: app[panel_key].standards.inquiry.min_s),
    "standards.inquiry_max_s": (456.0, lambda app: app[panel_key].standards.inquiry.max_s),
    "standards.closing_max_s": (42.0, lambda app: app[panel_key].standards.closing.max_s),
    "standards.wrapup_s": (17.0, lambda app: app[panel_key].standards.wrapup.max_s),
    "standards.satisfaction_target": (90.0, lambda app: app[surveys_key].target_percent),
    "standards.sl_threshold_s": (
        33.0,
        lambda app: thresholds_of(app[settings_key].standards).sl_s,
    ),
    "standards.short_abandon_s": (
        7.0,
        lambda app: thresholds_of(app[settings_key].standards).short_abandon_s,
    ),
    "standards.fcr_days": (3, lambda app: thresholds_of(app[settings_key].standards).fcr_days),
    "cases.sla_days": (15, lambda app: app[cases_key].policy.working_days_for(CaseType.COMPLAINT)),
    "cases.survey_days": (5, lambda app: app[cases_key].policy.survey_days),
    "cases.office_opens": (time(9, 15), lambda app: _calendar(app).opens),
    "cases.office_closes": (time(17, 45), lambda app: _calendar(app).closes),
    "cases.holiday_categories": (("public",), lambda app: _calendar(app).categories),
    "cases.closed_days": (
        (frozenset({date(2027, 1, 4)}),) * 2,
        lambda app: (_calendar(app).closed_days, app[escalation_key].calendar.closed_days),
    ),
    "cases.escalation_chain": (
        [("director", 4)],
        lambda app: [(level.name, level.grace_working_days) for level in app[escalation_key].chain],
    ),
    "cases.escalation_interval_s": (77.0, lambda app: app[escalation_key].interval_s),
    "cases.retention_years": (5, lambda app: app[retention_key].years),
    "cases.retention_interval_s": (999.0, lambda app: app[retention_key].interval_s),
    "security.trusted_proxies": (
        [ip_network("10.9.0.0/16")],
        lambda app: list(app[settings_key].security.trusted_proxy_networks),
    ),
    "security.login_free_per_username": (
        4,
        lambda app: app[login_throttle_key].rules.free_per_username,
    ),
    "security.login_free_per_address": (
        9,
        lambda app: app[login_throttle_key].rules.free_per_address,
    ),
    "security.login_first_wait_s": (3.0, lambda app: app[login_throttle_key].rules.first_wait_s),
    "security.login_max_wait_s": (60.0, lambda app: app[login_throttle_key].rules.max_wait_s),
    "security.idle_minutes": (timedelta(minutes=45), lambda app: app[settings_key].security.idle),
    "security.max_sessions_per_user": (
        2,
        lambda app: app[settings_key].security.max_sessions_per_user,
    ),
    "security.board_numbers_for": (
        ("supervisor", "admin"),
        lambda app: app[settings_key].security.board_numbers_for,
    ),
    **{
        f"call_control.{name}": (value, _call_control(name)) for name, value in CALL_CONTROL.items()
    },
    "shift.presence_sweep_s": (12.0, lambda app: app[presence_key].sweep_s),
    "spy.ring_timeout_s": (33, lambda app: app[spy_key].settings.ring_timeout_s),
    "mail.enabled": (True, _task_running("mail")),
    **{
        f"mail.{name}": (value, _sent_with(name))
        for name, value in MAIL.items()
        if name not in ("enabled", "smtp_password", "interval_s", "batch")
    },
    "mail.smtp_password": (
        "relay-secret",
        lambda app: _sent_with("smtp_password")(app).get_secret_value(),
    ),
    "mail.interval_s": (8.0, lambda app: app[mail_dispatcher_key].interval_s),
    "mail.batch": (9, lambda app: app[mail_dispatcher_key].batch),
    "mail.tls_ca_file": (
        [((("commonName", "Hotline Reach Test CA"),),)],
        lambda app: [
            ca["subject"] for ca in app[mail_dispatcher_key].sender.tls_context.get_ca_certs()
        ],
    ),
    "mail.max_attempts": (3, lambda app: app[mail_dispatcher_key].outbox.retry.max_attempts),
    "mail.first_retry_s": (11.0, lambda app: app[mail_dispatcher_key].outbox.retry.first_s),
    "mail.max_retry_s": (99.0, lambda app: app[mail_dispatcher_key].outbox.retry.max_s),
    "mail.lease_s": (44.0, lambda app: app[mail_dispatcher_key].outbox.retry.lease_s),
    "notices.enabled": (False, _task_running("notices")),
    "notices.steps": ((CaseStatus.FORWARDED, CaseStatus.RESOLVED), _noticed_with("settings.steps")),
    **{
        f"notices.{name}": (NOTICES[name], _noticed_with(f"settings.{name}"))
        for name in ("language", "agency", "hotline", "interval_s", "batch")
    },
    "notices.max_attempts": (4, _noticed_with("store.retry.max_attempts")),
    "notices.first_retry_s": (12.0, _noticed_with("store.retry.first_s")),
    "notices.max_retry_s": (120.0, _noticed_with("store.retry.max_s")),
    **{
        f"notices.{channel}.{name}": (value, _noticed_with(f"{channel}.settings.{name}"))
        for channel in ("sms", "line")
        for name, value in NOTICES[channel].items()
        if name not in ("url", "api_base")
    },
    "notices.sms.url": (
        "http://sms.reach.test/send",
        lambda app: str(_noticed_with("sms.settings.url")(app)),
    ),
    "notices.line.api_base": (
        "http://line.reach.test/",
        lambda app: str(_noticed_with("line.settings.api_base")(app)),
    ),
    "language": ("en", lambda app: _page(app)["lang"]),
    "era": ("ce", lambda app: _page(app)["era"]),
    "reports.root_causes": (
        ["flood"],
        lambda app: [c.code for c in app[settings_key].reports.root_causes],
    ),
    # The knowledge base refuses larger documents, and the server reads uploads that big.
    "knowledge.max_attachment_bytes": (
        (3_000_000, 3_000_000 + 65536),
        lambda app: (app[knowledge_key].max_attachment_bytes, app._client_max_size),
    ),
}
# Call recording (issue 15): the recorder runs, MixMonitor writes into the PBX's folder, and
# playback and retention use the shared folder as hotline sees it.
CHECKS.update(
    {
        "recording.enabled": (True, lambda app: recorder_key in app),
        "recording.folder": (
            (RECORDING["folder"],) * 2,
            lambda app: (app[recording_folder_key].root, app[retention_key].recordings.root),
        ),
        "recording.pbx_folder": ("/srv/asterisk-monitor", lambda app: app[recorder_key].pbx_folder),
    }
)
# Survey settings land in the survey service as typed values.
CHECKS.update(
    {
        f"survey.{name}": (getattr(SurveySettings.from_mapping({name: value}), name), _survey(name))
        for name, value in SURVEY.items()
        if name not in ("agi_host", "agi_port")
    }
)
# Proven by the tests below, through what a person sees.
BY_TEST = {
    "database_url": "test_the_service_stores_in_the_configured_database",
    "session_hours": "test_a_session_lasts_the_configured_hours",
    "shift.pause_codes": "test_the_panel_offers_the_configured_pause_and_wrapup_codes",
    "shift.wrapup_codes": "test_the_panel_offers_the_configured_pause_and_wrapup_codes",
    "secure_cookies": "test_every_cookie_is_secure_when_configured",
    "security.monitoring_token": "test_metrics_open_to_the_configured_token",
    "data_dir": "test_the_process_listens_logs_and_keeps_its_data_where_configured",
    "web_host": "test_the_process_listens_logs_and_keeps_its_data_where_configured",
    "web_port": "test_the_process_listens_logs_and_keeps_its_data_where_configured",
    "log_format": "test_the_process_listens_logs_and_keeps_its_data_where_configured",
    "log_level": "test_the_process_listens_logs_and_keeps_its_data_where_configured",
}


def _leaves(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Every setting as it is written: nested models by their fields, each PBX's too (every
    field shapes its link), the survey by its own."""
    for name, info in model.model_fields.items():
        path = prefix + name
        kind = info.annotation
        if path == "pbx":
            yield from _leaves(PbxSettings, "pbx.")
        elif isinstance(kind, type) and issubclass(kind, BaseModel):
            yield from _leaves(kind, path + ".")
        elif path == "survey":
            yield from (f"survey.{f.name}" for f in fields(SurveySettings))
        else:
            yield path


def test_every_setting_has_a_check() -> None:
    settings = set(_leaves(Settings))
    checked = set(CHECKS) | set(BY_TEST) | {"survey.agi_host", "survey.agi_port"}
    assert settings - checked == set(), "add a check for each new setting"
    assert checked - settings == set(), "a check names a setting that does not exist"
    assert all(name in globals() for name in BY_TEST.values())


@pytest.mark.parametrize("setting", sorted(CHECKS))
async def test_each_setting_reaches_its_consumer(running: TestClient, setting: str) -> None:
    assert running.app is not None
    expected, read = CHECKS[setting]
    assert read(running.app) == expected


async def test_the_survey_listens_where_configured(running: TestClient) -> None:
    _, writer = await asyncio.open_connection(AGI_HOST, AGI_PORT)
    writer.close()
    await writer.wait_closed()


async def test_the_service_stores_in_the_configured_database(
    running: TestClient, fresh_db_url: str
) -> None:
    assert running.app is not None
    name = await running.app[db_key].pool.fetchval("SELECT current_database()")
    assert name == urlsplit(fresh_db_url).path.lstrip("/")


async def test_every_cookie_is_secure_when_configured(running: TestClient) -> None:
    page = await running.get("/login")
    assert page.status == 200
    assert all(cookie["secure"] for cookie in page.cookies.values())


async def test_metrics_open_to_the_configured_token(running: TestClient) -> None:
    assert (await running.get("/metrics")).status == 401
    allowed = await running.get("/metrics", headers={"Authorization": "Bearer reach-token-1"})
    assert allowed.status == 200


async def _agent_logs_in(client: TestClient) -> ClientResponse:
    """An agent is created and logs in over plain HTTP; the login's own response."""
    assert client.app is not None
    await UserRepository(client.app[db_key].pool).create(
        username="somchai",
        display_name="Somchai",
        password_hash=await password_hash(PASSWORD),
        role="agent",
    )
    page = await client.get("/login")
    form = {"username": "somchai", "password": PASSWORD, "csrf_token": csrf_from(await page.text())}
    return await client.post("/login", data=form, allow_redirects=False)


async def test_a_session_lasts_the_configured_hours(fresh_db_url: str, tmp_path: Path) -> None:
    # Over plain HTTP the browser would not send secure cookies back, so not those here.
    settings = _settings(fresh_db_url, tmp_path).model_copy(update={"secure_cookies": False})
    async with TestClient(TestServer(create_app(settings))) as client:
        assert client.app is not None
        response = await _agent_logs_in(client)
        assert response.status == 303
        assert response.cookies[SESSION_COOKIE]["max-age"] == str(3 * 3600)


async def test_the_panel_offers_the_configured_pause_and_wrapup_codes(
    fresh_db_url: str, tmp_path: Path
) -> None:
    settings = _settings(fresh_db_url, tmp_path).model_copy(update={"secure_cookies": False})
    async with TestClient(TestServer(create_app(settings))) as client:
        assert client.app is not None
        await _agent_logs_in(client)
        panel = await (await client.get("/panel")).text()
    assert '<option value="prayer">ละหมาด</option>' in panel
    assert '<option value="sold">ขายได้</option>' in panel
    assert 'value="lunch"' not in panel


async def test_the_process_listens_logs_and_keeps_its_data_where_configured(tmp_path: Path) -> None:
    """`hotline serve` on embedded defaults: the database goes under data_dir, the address
    is web_host:web_port, and the log lines are JSON at the configured level."""
    port = free_port("127.0.0.4")
    env = clean_environment(
        HOTLINE_DATA_DIR=str(tmp_path / "state"),
        HOTLINE_WEB_HOST="127.0.0.4",
        HOTLINE_WEB_PORT=str(port),
        HOTLINE_AGI_PORT="0",
        HOTLINE_LOG_FORMAT="json",
        HOTLINE_LOG_LEVEL="debug",
    )
    async with hotline("serve", env, ready="hotline is listening on") as output:
        assert f"http://127.0.0.4:{port}/" in output.text
        _, writer = await asyncio.open_connection("127.0.0.4", port)
        writer.close()
    assert (tmp_path / "state" / "postgres").is_dir()
    json_lines = [line for line in output.text.splitlines() if line.startswith("{")]
    assert any('"level": "debug"' in line for line in json_lines), output.text

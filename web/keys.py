"""Typed keys for everything the composition root (hotline.app) puts on the application.

Views read resources through these keys and never build a repository or a service
themselves, so every part is made once, from the settings, in one place. The types of the
feature packages above `web` are named for the type checker only: at run time this module
depends on nothing above it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from telephony.events import TelephonyEvent

if TYPE_CHECKING:
    from accounts.login_throttle import LoginThrottle
    from accounts.management import AdminRepository
    from accounts.skills import SkillRepository
    from accounts.users import UserRepository
    from agent_ui.agent_events import AgentEventRouter
    from agent_ui.call_control import CallControlService, CallLegs
    from agent_ui.hub import Hub
    from agent_ui.panel_service import PanelService
    from agent_ui.presence import Presence
    from calls.floor import Floor
    from calls.recording_files import RecordingFolder
    from calls.recordings import Recorder, RecordingStore
    from calls.repository import CallRepository
    from calls.tracker import CallTracker
    from calls.writer import CallWriter
    from cases.escalation import EscalationJob
    from cases.intake_service import CaseIntake
    from cases.repository import CaseRepository
    from cases.retention import RetentionJob
    from config.settings import Settings
    from database.pool import Database
    from ivr.component import SurveyService
    from ivr.results import SurveyResults
    from knowledge.repository import KnowledgeRepository
    from knowledge.sending import BasketMailer
    from mail.dispatcher import MailDispatcher
    from mail.outbox import MailOutbox
    from notices.dispatcher import NoticeDispatcher
    from notices.store import NoticeStore
    from runtime.clock import Clock
    from runtime.metrics import Metrics
    from runtime.tasks import TaskSupervisor
    from runtime.workers import Workers
    from supervision.spying import SpyService
    from telephony.service import TelephonyService
    from web.i18n import Catalog

settings_key: web.AppKey[Settings] = web.AppKey("settings")
clock_key: web.AppKey[Clock] = web.AppKey("clock")
catalog_key: web.AppKey[Catalog] = web.AppKey("catalog")
metrics_key: web.AppKey[Metrics] = web.AppKey("metrics")
# Starts every long-lived task (`app[tasks_key].spawn`), so none can die unseen.
tasks_key: web.AppKey[TaskSupervisor] = web.AppKey("tasks")
# Threads for password hashing and a process for exports (runtime.workers.workers_ctx).
workers_key: web.AppKey[Workers] = web.AppKey("workers")

# Built once the database is up (hotline.lifetimes.database_ctx).
db_key: web.AppKey[Database] = web.AppKey("db")
users_key: web.AppKey[UserRepository] = web.AppKey("users")
login_throttle_key: web.AppKey[LoginThrottle] = web.AppKey("login_throttle")
skills_key: web.AppKey[SkillRepository] = web.AppKey("skills")
accounts_key: web.AppKey[AdminRepository] = web.AppKey("accounts")
cases_key: web.AppKey[CaseRepository] = web.AppKey("cases")
calls_key: web.AppKey[CallRepository] = web.AppKey("calls")
surveys_key: web.AppKey[SurveyResults] = web.AppKey("survey_results")
escalation_key: web.AppKey[EscalationJob] = web.AppKey("escalation")
intake_key: web.AppKey[CaseIntake] = web.AppKey("case_intake")
retention_key: web.AppKey[RetentionJob] = web.AppKey("retention")

# Built when the PBX links start (hotline.lifetimes.telephony_ctx).
telephony_key: web.AppKey[TelephonyService] = web.AppKey("telephony")
tracker_key: web.AppKey[CallTracker] = web.AppKey("tracker")
call_writer_key: web.AppKey[CallWriter] = web.AppKey("call_writer")
survey_key: web.AppKey[SurveyService] = web.AppKey("survey")
# The live floor: queues, waiting callers, agents, calls in progress.
floor_key: web.AppKey[Floor] = web.AppKey("floor")

# The agent panel (agent_ui.views.panel).
hub_key: web.AppKey[Hub] = web.AppKey("panel_hub")
panel_key: web.AppKey[PanelService] = web.AppKey("panel_service")
agent_events_key: web.AppKey[AgentEventRouter] = web.AppKey("agent_events")
# The panel's call control (agent_ui.views.calls): its service and its telephony subscriber.
call_control_key: web.AppKey[CallControlService] = web.AppKey("call_control")
call_legs_key: web.AppKey[CallLegs] = web.AppKey("call_legs")

# Supervisors listening, whispering or barging on calls (supervision.spying).
spy_key: web.AppKey[SpyService] = web.AppKey("spies")

# Agents in and out of their queues: sign-in, sign-out, expired sessions (agent_ui.presence).
presence_key: web.AppKey[Presence] = web.AppKey("presence")

SessionHook = Callable[[int], Awaitable[None]]
# Told the user id of each login and logout (the panel signs agents in to their queues and
# out of them); a failing hook is logged and never stops the login or the logout.
session_opened_key = web.AppKey("session_opened", list[SessionHook])
session_closed_key = web.AppKey("session_closed", list[SessionHook])

# E-mail and notices to citizens (hotline.mail_lifetime): the outbox every mail goes
# through, and the notices of each case.
mail_outbox_key: web.AppKey[MailOutbox] = web.AppKey("mail_outbox")
notices_key: web.AppKey[NoticeStore] = web.AppKey("notices")
mail_dispatcher_key: web.AppKey[MailDispatcher] = web.AppKey("mail_dispatcher")
notice_dispatcher_key: web.AppKey[NoticeDispatcher] = web.AppKey("notice_dispatcher")

EventSubscriber = Callable[[TelephonyEvent], Awaitable[None]]
# Features append their telephony subscribers here while the app is built; the telephony
# lifetime subscribes them, in this order, after the call tracker.
event_subscribers_key = web.AppKey("event_subscribers", list[EventSubscriber])

# The knowledge base: articles, their documents, the callers' baskets (agent_ui.views.knowledge).
knowledge_key: web.AppKey[KnowledgeRepository] = web.AppKey("knowledge")
# Sends a caller's basket through the mail outbox (hotline.lifetimes.knowledge_ctx).
basket_mailer_key: web.AppKey[BasketMailer] = web.AppKey("basket_mailer")
# Call recordings (issue 15): their rows, the folder shared with Asterisk, and the
# subscriber that starts and follows them (absent when recording is off or no PBX is set).
recordings_key: web.AppKey[RecordingStore] = web.AppKey("recordings")
recording_folder_key: web.AppKey[RecordingFolder] = web.AppKey("recording_folder")
recorder_key: web.AppKey[Recorder] = web.AppKey("recorder")

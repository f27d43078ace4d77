"""Typed keys for what the composition root puts on the application.

Views read resources through these keys and never import the composition root itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from agent_ui.settings import Settings
from cases.clock import Clock
from cases.db import Database
from telephony.call_writer import CallWriter
from telephony.events import TelephonyEvent
from telephony.service import TelephonyService
from telephony.tracker import CallTracker

if TYPE_CHECKING:
    from agent_ui.i18n import Catalog
    from agent_ui.metrics import Metrics
    from cases.users import UserRepository

settings_key = web.AppKey("settings", Settings)
clock_key = web.AppKey("clock", Clock)
db_key = web.AppKey("db", Database)
users_key: web.AppKey[UserRepository] = web.AppKey("users")
catalog_key: web.AppKey[Catalog] = web.AppKey("catalog")
metrics_key: web.AppKey[Metrics] = web.AppKey("metrics")
telephony_key = web.AppKey("telephony", TelephonyService)
tracker_key = web.AppKey("tracker", CallTracker)
call_writer_key = web.AppKey("call_writer", CallWriter)

EventSubscriber = Callable[[TelephonyEvent], Awaitable[None]]
# Features append their telephony subscribers here while the app is built; the telephony
# lifetime subscribes them, in this order, after the call tracker.
event_subscribers_key = web.AppKey("event_subscribers", list[EventSubscriber])

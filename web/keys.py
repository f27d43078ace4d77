"""Typed keys for what the composition root puts on the application.

Views read resources through these keys and never import the composition root itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from calls.tracker import CallTracker
from calls.writer import CallWriter
from config.settings import Settings
from database.pool import Database
from runtime.clock import Clock
from telephony.events import TelephonyEvent
from telephony.service import TelephonyService

if TYPE_CHECKING:
    from accounts.users import UserRepository
    from runtime.metrics import Metrics
    from web.i18n import Catalog

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

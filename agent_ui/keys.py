"""Typed keys for what the composition root puts on the application.

Views read resources through these keys and never import the composition root itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from agent_ui.settings import Settings
from cases.clock import Clock
from cases.db import Database

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

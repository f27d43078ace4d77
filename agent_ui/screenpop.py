"""The screen-pop: everything known about a caller, gathered the moment their call rings.

Their last calls and survey ratings are read at the same time as their profile (whose id
then finds their cases), on separate pooled connections, so a pop costs about two database
round trips whatever the size of the history.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any

import asyncpg

from calls.numbers import normalise
from calls.repository import CallRepository
from cases.models import CaseSummary
from cases.repository import CaseRepository
from ivr.results import SurveyResults
from mail.outbox import MailOutbox

PROFILE_FIELDS = ("name", "occupation", "gender", "age_band", "province", "email")

_PROFILE = """
SELECT id, name, occupation, gender, age_band, province, email
FROM callers WHERE number = $1 AND anonymised_at IS NULL
"""


@dataclasses.dataclass(frozen=True, slots=True)
class PopLimits:
    """How much history a pop carries."""

    calls: int = 5
    cases: int = 5
    ratings: int = 3
    mails: int = 5
    recent_days: int = 90


class ScreenPops:
    """Builds pops from the call and case repositories."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        calls: CallRepository,
        cases: CaseRepository,
        ratings: SurveyResults,
        mails: MailOutbox,
        limits: PopLimits | None = None,
    ) -> None:
        self._pool = pool
        self._mails = mails
        self._calls = calls
        self._cases = cases
        self._ratings = ratings
        self._limits = limits or PopLimits()

    async def pop(self, number: str, *, now: datetime, this_call: str = "") -> dict[str, Any]:
        """Profile, last calls, open and recent cases, last survey ratings and mails sent to
        the caller, as plain JSON.

        A number never seen before (or no number at all) pops an empty profile to fill in;
        a caller row alone (the call tracker adds one on the first ring) is not "known".
        """
        national = normalise(number)
        (profile, cases), calls, ratings, mails = await asyncio.gather(
            self._profile_and_cases(national, now),
            self._calls.caller_history(
                number, self._limits.calls, exclude_call_key=this_call or None
            ),
            self._ratings.caller_last_ratings(national, self._limits.ratings)
            if national
            else _none(),
            self._mails.history(caller_number=national, limit=self._limits.mails)
            if national
            else _none(),
        )
        fields = {name: (profile[name] if profile else None) or "" for name in PROFILE_FIELDS}
        return {
            "number": national or number,
            "known": any(fields.values()) or bool(calls or cases),
            "profile": fields,
            "calls": [jsonable(call) for call in calls],
            "cases": [jsonable(case) for case in cases],
            "ratings": [jsonable(rating) for rating in ratings],
            "mails": [jsonable(mail) for mail in mails],
        }

    async def _profile_and_cases(
        self, national: str | None, now: datetime
    ) -> tuple[asyncpg.Record | None, list[CaseSummary]]:
        """The caller's profile, then their cases (found by the profile's id)."""
        if national is None:
            return None, []
        profile = await self._pool.fetchrow(_PROFILE, national)
        if profile is None:
            return None, []
        cases = await self._cases.caller_cases(
            profile["id"], now=now, recent_days=self._limits.recent_days, limit=self._limits.cases
        )
        return profile, cases


async def _none() -> list[Any]:
    return []


def jsonable(value: Any) -> Any:
    """Dataclasses, records, enums and times as JSON-ready values (times in ISO 8601)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value

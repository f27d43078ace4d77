"""The one way tests build call records: a queue call as the tracker would record it."""

from __future__ import annotations

from typing import Any

from calls.record import CallRecord
from telephony.events import make_call_key


def call_record(
    uniqueid: str, *, pbx: str = "lab", queue: str = "hotline", **facts: Any
) -> CallRecord:
    """The record of the call `uniqueid` in `queue`, with the given facts known."""
    return CallRecord(
        call_key=make_call_key(pbx, queue, uniqueid),
        pbx=pbx,
        queue=queue,
        uniqueid=uniqueid,
        **facts,
    )

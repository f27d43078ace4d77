"""The call record: the columns of `calls` that telephony decides, for one queue call.

Defined once. The tracker fills it in from events, the writer queues it, the repository
stores it and reads it back (as `StoredCall`, the same fields and the row's ids); the SQL
that stores it is derived from these fields, so a new fact is one field here plus a
migration.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Protocol


@dataclass(slots=True)
class CallRecord:
    """What telephony knows about one queue call, from joining the queue to the end.

    `came_from` is the call_key of the queue call this one continues (the caller was
    transferred back into a queue); `transferred_to` is the extension or number the agent
    transferred to, `transfer_kind` blind or attended, `transfer_destination` agent, queue,
    outside or unknown and `transfer_party` the agent's interface, the queue or the number
    reached; `exit_key` the digit of an exit by key. `held_since` is when the hold in
    progress began (None when not on hold), so a restart does not count it as talk.
    `times_estimated`: the join and answer times were guessed from a snapshot's channel
    ages (a call first seen mid-wait or mid-talk); queue_log's real ones replace them.
    """

    call_key: str
    pbx: str
    queue: str
    uniqueid: str
    linkedid: str | None = None
    caller_number: str | None = None
    caller_name: str | None = None
    joined_at: datetime | None = None
    ringing_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    agent_interface: str | None = None
    agent_name: str | None = None
    wait_s: float | None = None
    ring_s: float | None = None
    talk_s: float | None = None
    hold_s: float = 0.0
    hung_up_by: str | None = None
    end_reason: str | None = None
    abandoned: bool = False
    position: int | None = None
    original_position: int | None = None
    transferred_to: str | None = None
    recovered: bool = False
    came_from: str | None = None
    transfer_kind: str | None = None
    transfer_destination: str | None = None
    transfer_party: str | None = None
    exit_key: str | None = None
    held_since: datetime | None = None
    times_estimated: bool = False


#: The record's fields in declaration order: its columns in `calls`.
RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CallRecord))


class CallSink(Protocol):
    """Where call records go (calls.writer.CallWriter); one upsert per call_key."""

    async def save_call(self, record: CallRecord) -> None: ...

"""One record per queue call, kept current from telephony events and saved at each milestone.

The tracker is the only writer of call records: it saves the whole record every time the
call reaches a milestone (joined, ringing, answered, off hold, transferred, ended), so a
restart loses at most what happened since the last save, and the sink's upsert by call_key
makes every save land on the same row. After an AMI gap `reconcile()` closes the calls that
ended unseen and adopts the ones it never saw. Memory is bounded: a record leaves when its
call ends (a short tail is kept for late details such as a transfer target).

The tracker keeps only what the records need; what the floor looks like now (who waits,
who talks, who is paused) is calls.floor's.

Who ended a call is what the PBX reports, except where only hotline knows: Asterisk reports
an AMI Hangup of the agent's leg as `caller`, so the panel's hang-up button announces it
first (`hangup_requested`) and the record says agent or supervisor.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar

import structlog

from calls.record import CallRecord, CallSink
from telephony.events import (
    AgentRinging,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallExitedQueue,
    CallHeld,
    CallQueued,
    CallResumed,
    CallTransferred,
    ConnectedCall,
    PbxSnapshot,
    TelephonyEvent,
    TransferReached,
    WaitingCaller,
)

log = structlog.get_logger()

_Seen = TypeVar("_Seen", WaitingCaller, ConnectedCall)

DEFAULT_MAX_OPEN = 50_000
DEFAULT_RECENT = 1_024
# Who the panel may say ended a call with its hang-up button.
HANGUP_REQUESTERS = frozenset({"agent", "supervisor"})


def _uniqueid_of(call_key: str, pbx: str, queue: str) -> str:
    prefix = f"{pbx}/{queue}/"
    return call_key[len(prefix) :] if call_key.startswith(prefix) else call_key.rsplit("/", 1)[-1]


def _settle_completed(record: CallRecord, event: CallEnded, requested: str | None) -> None:
    """An answered call is over: its end fills in what the record did not learn before.

    `requested` is who pressed the panel's hang-up: the AMI Hangup it sent comes back as
    Reason caller; any other reason means something else ended the call first.

    Talk is answer -> end less every hold, from the record's own answer time: after a
    restart the translator only knows the answer from the agent channel's age (which
    counts the ringing) and none of the holds before it.
    """
    open_hold = 0.0
    if record.held_since is not None:
        open_hold = max(0.0, (event.at - record.held_since).total_seconds())
        record.held_since = None
    record.hold_s = max(record.hold_s + open_hold, event.hold_s)
    record.talk_s = event.talk_s
    if record.answered_at is not None:
        talk = (event.at - record.answered_at).total_seconds() - record.hold_s
        record.talk_s = max(0.0, talk)
    by_panel = requested is not None and event.hung_up_by == "caller"
    record.hung_up_by = requested if by_panel else event.hung_up_by
    transferred = event.hung_up_by == "transfer" or record.transferred_to is not None
    record.end_reason = "transferred" if transferred else "completed"
    record.agent_interface = record.agent_interface or event.interface or None
    record.agent_name = record.agent_name or event.member_name or None
    record.caller_number = record.caller_number or event.caller_number or None
    if record.wait_s is None:
        record.wait_s = event.wait_s


def _take_exact_times(record: CallRecord, logged: CallRecord) -> None:
    """queue_log's join (ENTERQUEUE) and answer (CONNECT) replace what a snapshot guessed
    from channel ages, or fill in what the gap hid; times the live stream saw stay."""
    guessed = record.times_estimated
    if guessed or record.joined_at is None:
        record.joined_at = logged.joined_at or record.joined_at
    record.caller_number = record.caller_number or logged.caller_number
    if record.original_position is None:
        record.original_position = logged.original_position
    if logged.answered_at is not None and (guessed or record.answered_at is None):
        record.answered_at, record.wait_s, record.ring_s = (
            logged.answered_at,
            logged.wait_s,
            logged.ring_s,
        )
        record.ringing_at = logged.answered_at - timedelta(seconds=logged.ring_s or 0.0)
        record.agent_name = record.agent_name or logged.agent_name
    record.times_estimated = False


def _take_logged_end(record: CallRecord, logged: CallRecord) -> None:
    """queue_log's end of a call the live stream did not see end (or guessed lost). Talk
    is counted like a live end, answer to end less the holds seen; app_queue's own
    figure (holds included) only when the answer is unknown."""
    assert logged.ended_at is not None
    record.ended_at = logged.ended_at
    for name in ("end_reason", "hung_up_by", "abandoned", "position", "exit_key"):
        setattr(record, name, getattr(logged, name))
    record.transfer_kind = record.transfer_kind or logged.transfer_kind
    record.transferred_to = record.transferred_to or logged.transferred_to
    if record.answered_at is None:
        record.wait_s, record.talk_s = logged.wait_s, logged.talk_s
        return
    if record.held_since is not None:
        record.hold_s += max(0.0, (logged.ended_at - record.held_since).total_seconds())
        record.held_since = None
    talk = (logged.ended_at - record.answered_at).total_seconds() - record.hold_s
    record.talk_s = max(0.0, talk)


def _settle_abandoned(record: CallRecord, event: CallAbandoned) -> None:
    record.wait_s = event.wait_s
    record.abandoned = True
    record.hung_up_by = "caller"
    record.end_reason = "abandoned"
    record.position = event.position
    record.original_position = event.original_position


def _settle_exited(record: CallRecord, event: CallExitedQueue) -> None:
    record.wait_s = event.wait_s
    record.end_reason = event.reason
    record.position = event.position
    record.exit_key = event.key or None
    record.hung_up_by = event.hung_up_by


class CallTracker:
    """Consumes TelephonyEvents in order (`await handle(event)`), one instance for all PBXs."""

    def __init__(
        self,
        sink: CallSink,
        *,
        max_open: int = DEFAULT_MAX_OPEN,
        recent: int = DEFAULT_RECENT,
    ) -> None:
        self._sink = sink
        self._max_open = max_open
        self._recent_size = recent
        self._open: dict[str, CallRecord] = {}
        self._recent: OrderedDict[str, CallRecord] = OrderedDict()
        # The answering leg's channel of each open answered call, and who asked the PBX
        # to hang a call up from the panel.
        self._channel_of: dict[str, tuple[str, str]] = {}
        self._requested: OrderedDict[tuple[str, str], str] = OrderedDict()
        # The open call of each (pbx, queue, caller uniqueid): a snapshot names calls by it.
        self._by_caller: dict[tuple[str, str, str], str] = {}
        self._handlers: dict[type[Any], Callable[[Any], Awaitable[None]]] = {
            CallQueued: self._queued,
            AgentRinging: self._ringing,
            CallAnswered: self._answered,
            CallHeld: self._held,
            CallResumed: self._resumed,
            CallTransferred: self._transferred,
            TransferReached: self._reached,
            CallEnded: self._finished,
            CallAbandoned: self._finished,
            CallExitedQueue: self._finished,
            PbxSnapshot: self.reconcile,
        }

    async def handle(self, event: TelephonyEvent) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            await handler(event)

    def restore(self, records: Iterable[CallRecord]) -> None:
        """Take back the open calls saved before a restart; reconcile() settles them."""
        for record in records:
            if record.ended_at is None:
                self._open_record(record)

    def get(self, call_key: str) -> CallRecord | None:
        """A copy of the record of an open or recently ended call."""
        record = self._open.get(call_key) or self._recent.get(call_key)
        return None if record is None else replace(record)

    def talking(self) -> list[CallRecord]:
        """Copies of the queue calls an agent is on now (answered, not ended yet)."""
        return [
            replace(record)
            for record in self._open.values()
            if record.answered_at is not None and record.ended_at is None
        ]

    def hangup_requested(self, pbx: str, channel: str, by: str) -> None:
        """The panel is about to send an AMI Hangup of `channel` (the agent's leg, as
        CallAnswered.agent_channel names it) for `by` ("agent" or "supervisor")."""
        if by not in HANGUP_REQUESTERS:
            raise ValueError(f"a hang-up is requested by an agent or a supervisor, not {by!r}")
        # Kept by channel (unique on a PBX), so a request made while the answer is still on
        # its way to the tracker counts too; the oldest unmatched ones are let go.
        self._requested[(pbx, channel)] = by
        while len(self._requested) > self._recent_size:
            self._requested.popitem(last=False)

    # -- records -------------------------------------------------------------------------

    async def _save(self, record: CallRecord) -> None:
        """Hand a copy to the sink; a failed save is logged, the next milestone re-sends all."""
        try:
            await self._sink.save_call(replace(record))
        except Exception:
            log.exception("call_save_failed", call_key=record.call_key)

    def _record(self, pbx: str, queue: str, call_key: str) -> CallRecord:
        """The open record for a call, created if the call started before we listened."""
        record = self._open.get(call_key)
        if record is None:
            record = CallRecord(
                call_key=call_key, pbx=pbx, queue=queue, uniqueid=_uniqueid_of(call_key, pbx, queue)
            )
            self._open_record(record)
        return record

    def _open_record(self, record: CallRecord) -> None:
        """Track a call from now on; one seen again (re-queued, adopted) is no longer recent."""
        self._recent.pop(record.call_key, None)
        if len(self._open) >= self._max_open and record.call_key not in self._open:
            oldest = next(iter(self._open))
            log.warning("call_tracker_evicted", call_key=oldest)
            self._forget_caller(self._open.pop(oldest))
        self._open[record.call_key] = record
        self._by_caller[(record.pbx, record.queue, record.uniqueid)] = record.call_key

    def _forget_caller(self, record: CallRecord) -> None:
        caller = (record.pbx, record.queue, record.uniqueid)
        if self._by_caller.get(caller) == record.call_key:
            del self._by_caller[caller]

    async def _close(self, record: CallRecord) -> None:
        self._open.pop(record.call_key, None)
        channel = self._channel_of.pop(record.call_key, None)
        if channel is not None:
            self._requested.pop(channel, None)
        self._forget_caller(record)
        self._recent[record.call_key] = record
        while len(self._recent) > self._recent_size:
            self._recent.popitem(last=False)
        await self._save(record)

    def _closing(self, call_key: str, pbx: str, queue: str) -> CallRecord | None:
        """The record an end event should close, or None when that call is already closed."""
        if call_key in self._recent and call_key not in self._open:
            return None
        return self._record(pbx, queue, call_key)

    # -- call events ---------------------------------------------------------------------

    async def _queued(self, event: CallQueued) -> None:
        record = CallRecord(
            call_key=event.call_key,
            pbx=event.pbx,
            queue=event.queue,
            uniqueid=event.uniqueid,
            linkedid=event.linkedid,
            caller_number=event.caller_number or None,
            caller_name=event.caller_name or None,
            joined_at=event.at,
            position=event.position,
            original_position=event.position,
            came_from=event.came_from or None,
        )
        self._open_record(record)
        await self._save(record)

    def _in_progress(self, event: AgentRinging | CallAnswered) -> CallRecord | None:
        """The record a ringing or an answer updates, caller ID learnt; None once it ended."""
        if event.call_key in self._recent:
            return None
        record = self._record(event.pbx, event.queue, event.call_key)
        record.caller_number = record.caller_number or event.caller_number or None
        record.caller_name = record.caller_name or event.caller_name or None
        return record

    async def _ringing(self, event: AgentRinging) -> None:
        record = self._in_progress(event)
        if record is None:
            return
        record.ringing_at = event.at
        await self._save(record)

    async def _answered(self, event: CallAnswered) -> None:
        record = self._in_progress(event)
        if record is None:
            return
        record.answered_at = event.at
        record.agent_interface = event.interface
        record.agent_name = event.member_name
        record.wait_s = event.wait_s
        record.ring_s = event.ring_s
        if event.agent_channel:
            self._channel_of[event.call_key] = (event.pbx, event.agent_channel)
        if record.ringing_at is None:
            record.ringing_at = event.at - timedelta(seconds=event.ring_s)
        if record.joined_at is None:
            record.joined_at = event.at - timedelta(seconds=event.wait_s)
        await self._save(record)

    async def _held(self, event: CallHeld) -> None:
        record = self._open.get(event.call_key)
        if record is None or record.held_since is not None:
            return
        record.held_since = event.at
        await self._save(record)

    async def _resumed(self, event: CallResumed) -> None:
        """Off hold. A translator restarted mid-hold never saw it begin (held_s 0): the
        record's own start says how long it lasted."""
        record = self._open.get(event.call_key)
        if record is None:
            return
        held = event.held_s
        if held == 0 and record.held_since is not None:
            held = max(0.0, (event.at - record.held_since).total_seconds())
        record.hold_s += held
        record.held_since = None
        await self._save(record)

    async def _transferred(self, event: CallTransferred) -> None:
        record = self._open.get(event.call_key) or self._recent.get(event.call_key)
        if record is None:
            return
        record.transferred_to = event.target
        record.transfer_kind = event.kind
        record.transfer_destination = event.destination
        record.transfer_party = event.party or None
        if record.ended_at is not None:
            record.end_reason = "transferred"
            record.hung_up_by = "transfer"
        await self._save(record)

    async def _reached(self, event: TransferReached) -> None:
        record = self._open.get(event.call_key) or self._recent.get(event.call_key)
        if record is None:
            return
        record.transfer_destination = event.destination
        record.transfer_party = event.party or None
        await self._save(record)

    async def _finished(self, event: CallEnded | CallAbandoned | CallExitedQueue) -> None:
        """Close the record once, however the call ended; a late second end changes nothing."""
        record = self._closing(event.call_key, event.pbx, event.queue)
        if record is None:
            return
        record.ended_at = event.at
        if isinstance(event, CallEnded):
            channel = self._channel_of.get(record.call_key)
            requested = self._requested.get(channel) if channel is not None else None
            _settle_completed(record, event, requested)
        elif isinstance(event, CallAbandoned):
            _settle_abandoned(record, event)
        else:
            _settle_exited(record, event)
        await self._close(record)

    # -- queue_log (calls.queue_log) -----------------------------------------------------

    async def take_logged(self, logged: CallRecord) -> bool:
        """queue_log's account of a call, after a gap. True when the tracker holds the
        call: open (its guessed times are made exact; closed if queue_log shows its end)
        or just closed as `lost_in_gap` (its real end replaces the guess). False when the
        call is not the tracker's to settle: its caller must store it (or leave it)."""
        record = self._open.get(logged.call_key)
        if record is None and logged.ended_at is None:
            # A snapshot names a re-queued caller's call without its visit number.
            key = self._by_caller.get((logged.pbx, logged.queue, logged.uniqueid))
            record = self._open.get(key) if key is not None else None
        if record is None:
            record = self._recent.get(logged.call_key)
            if record is None or record.end_reason != "lost_in_gap" or logged.ended_at is None:
                return False
        _take_exact_times(record, logged)
        if logged.ended_at is None:
            await self._save(record)
        else:
            _take_logged_end(record, logged)
            await self._close(record)
        return True

    # -- resynchronisation ---------------------------------------------------------------

    async def reconcile(self, snapshot: PbxSnapshot) -> None:
        """Make the open calls of one PBX match what it reports after a (re)connect.

        Calls we tracked that it no longer has ended during the gap: closed once, as
        lost_in_gap, with what was known. Calls it has that we never saw are adopted as
        recovered. Answered-in-the-gap calls get their agent. Nothing is counted twice.
        """
        waiting = [self._as_tracked(snapshot.pbx, w) for w in snapshot.waiting]
        connected = [self._as_tracked(snapshot.pbx, c) for c in snapshot.connected]
        present = {w.call_key for w in waiting}
        present.update(c.call_key for c in connected)
        lost = [
            r for r in self._open.values() if r.pbx == snapshot.pbx and r.call_key not in present
        ]
        for record in lost:
            record.ended_at = snapshot.at
            record.end_reason = "lost_in_gap"
            await self._close(record)
        for entry in waiting:
            await self._adopt_waiting(snapshot, entry)
        for call in connected:
            await self._adopt_connected(snapshot, call)
        log.info(
            "calls_reconciled",
            pbx=snapshot.pbx,
            lost=len(lost),
            waiting=len(snapshot.waiting),
            connected=len(snapshot.connected),
        )

    def _as_tracked(self, pbx: str, seen: _Seen) -> _Seen:
        """The snapshot's entry under the key hotline tracks that caller's call by: a caller
        sent back into a queue has a visit number the PBX cannot know."""
        key = self._by_caller.get((pbx, seen.queue, seen.uniqueid), seen.call_key)
        return seen if key == seen.call_key else replace(seen, call_key=key)

    async def _adopt_waiting(self, snapshot: PbxSnapshot, waiting: WaitingCaller) -> None:
        if waiting.call_key in self._open:
            return
        record = CallRecord(
            call_key=waiting.call_key,
            pbx=snapshot.pbx,
            queue=waiting.queue,
            uniqueid=waiting.uniqueid,
            caller_number=waiting.caller_number or None,
            caller_name=waiting.caller_name or None,
            joined_at=snapshot.at - timedelta(seconds=waiting.wait_s),
            position=waiting.position,
            original_position=waiting.position,
            recovered=True,
            times_estimated=True,
        )
        self._open_record(record)
        await self._save(record)

    async def _adopt_connected(self, snapshot: PbxSnapshot, connected: ConnectedCall) -> None:
        answered_at = snapshot.at - timedelta(seconds=connected.talking_s)
        record = self._open.get(connected.call_key)
        if record is not None and record.answered_at is not None:
            return
        if record is None:
            record = CallRecord(
                call_key=connected.call_key,
                pbx=snapshot.pbx,
                queue=connected.queue,
                uniqueid=connected.uniqueid,
                linkedid=connected.linkedid or None,
                caller_number=connected.caller_number or None,
                caller_name=connected.caller_name or None,
                recovered=True,
            )
            self._open_record(record)
        record.answered_at = answered_at
        record.times_estimated = True
        record.agent_interface = connected.interface or None
        record.agent_name = connected.member_name or None
        if record.joined_at is None and connected.caller_age_s > 0:
            # Joined unseen: no later than the caller's channel was made (an upper bound
            # of the wait, marked recovered), never left unknown.
            record.joined_at = min(
                answered_at, snapshot.at - timedelta(seconds=connected.caller_age_s)
            )
        if record.joined_at is not None:
            record.wait_s = max(0.0, (answered_at - record.joined_at).total_seconds())
        await self._save(record)

"""The telephony subscriber of the agent panel: each typed event to the right agent's desk.

Agents are found by their phone (pbx, interface); the mapping is cached because it is read
on every ring. Events for phones no agent is bound to are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

import structlog

from agent_ui.desk import Availability
from agent_ui.panel_service import PanelService
from telephony.events import (
    AgentRinging,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallExitedQueue,
    CallHeld,
    CallResumed,
    CallTransferred,
    MemberAdded,
    MemberRemoved,
    MemberSnapshot,
    PbxSnapshot,
    RingNoAnswer,
    TelephonyEvent,
)

log = structlog.get_logger()

_HANDLED = (
    AgentRinging,
    CallAnswered,
    RingNoAnswer,
    CallAbandoned,
    CallExitedQueue,
    CallHeld,
    CallResumed,
    CallTransferred,
    CallEnded,
    AgentStateChanged,
    MemberAdded,
    MemberRemoved,
    PbxSnapshot,
)

UserLookup = Callable[[str, str], Awaitable[int | None]]


class AgentEventRouter:
    """Call it with every telephony event, in order; it only queues them, so the PBX's event
    stream (and the call tracker behind it) never waits on a screen-pop query. One worker
    handles the queue in order while `running()`."""

    def __init__(self, find_user: UserLookup) -> None:
        self._panel: PanelService | None = None
        self._find_user = find_user
        self._users: dict[tuple[str, str], int] = {}
        self._inbox: asyncio.Queue[TelephonyEvent] = asyncio.Queue()

    def know(self, phones: dict[tuple[str, str], int]) -> None:
        """Agents' phones known in advance (at start), so no ring waits for a lookup."""
        self._users.update(phones)

    def phone_of(self, user_id: int) -> tuple[str, str] | None:
        """The (pbx, interface) this agent's events came from, if any came yet."""
        return next((phone for phone, user in self._users.items() if user == user_id), None)

    async def _user(self, pbx: str, interface: str) -> int | None:
        """The agent at this phone; a phone nobody has is looked up again next time, as an
        admin may bind it meanwhile."""
        key = (pbx, interface)
        user = self._users.get(key)
        if user is None:
            user = await self._find_user(pbx, interface)
            if user is not None:
                self._users[key] = user
        return user

    async def __call__(self, event: TelephonyEvent) -> None:
        if isinstance(event, _HANDLED):
            self._inbox.put_nowait(event)

    async def settled(self) -> None:
        """Wait until every event queued so far has reached the desks."""
        await self._inbox.join()

    async def _work(self) -> None:
        while True:
            event = await self._inbox.get()
            try:
                await self._route(event)
            except Exception:
                log.exception("agent_event_failed", event=type(event).__name__, pbx=event.pbx)
            finally:
                self._inbox.task_done()

    @contextlib.asynccontextmanager
    async def running(self, panel: PanelService) -> AsyncIterator[AgentEventRouter]:
        """Hand events to `panel`, starting with those queued before it was ready (the
        snapshot taken when the PBX link came up)."""
        self._panel = panel
        worker = asyncio.create_task(self._work(), name="agent-events")
        try:
            yield self
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _route(self, event: TelephonyEvent) -> None:
        panel = self._panel
        assert panel is not None, "events are routed only while running"
        match event:
            case AgentRinging():
                user = await self._user(event.pbx, event.interface)
                if user is not None:
                    await panel.ringing(
                        user,
                        call_key=event.call_key,
                        pbx=event.pbx,
                        queue=event.queue,
                        number=event.caller_number,
                        name=event.caller_name,
                        at=event.at,
                    )
            case CallAnswered():
                user = await self._user(event.pbx, event.interface)
                panel.withdraw(event.call_key, keep=user)
                if user is not None:
                    await panel.answered(user, event.call_key, event.at)
            case RingNoAnswer():
                user = await self._user(event.pbx, event.interface)
                if user is not None:
                    panel.withdraw(event.call_key, only=user)
            case CallAbandoned() | CallExitedQueue():
                panel.withdraw(event.call_key)
            case CallHeld() | CallResumed():
                user = await self._user(event.pbx, event.interface)
                if user is not None:
                    await panel.held(user, event.call_key, event.at, isinstance(event, CallHeld))
            case CallTransferred():
                user = await self._user(event.pbx, event.interface)
                if user is not None:
                    await panel.transferred(user, event.call_key, event.target)
            case CallEnded():
                user = await self._user(event.pbx, event.interface)
                if user is not None:
                    await panel.ended(user, event.call_key, event.at)
            case AgentStateChanged() | MemberAdded() | MemberRemoved():
                await self._membership(event.pbx, event, event.at)
            case PbxSnapshot():
                await panel.resynchronised(
                    event.pbx,
                    event.at,
                    waiting={caller.call_key for caller in event.waiting},
                    connected={call.call_key for call in event.connected},
                )
                for member in event.members:
                    await self._membership(event.pbx, member, event.at)

    async def _membership(
        self,
        pbx: str,
        member: AgentStateChanged | MemberAdded | MemberRemoved | MemberSnapshot,
        at: datetime,
    ) -> None:
        """Availability from queue membership: out of every queue is logged out."""
        user = await self._user(pbx, member.interface)
        if user is None:
            return
        assert self._panel is not None
        desk = await self._panel.desk(user)
        removed = isinstance(member, MemberRemoved) or member.state == "logged_out"
        if removed:
            desk.queues.discard(member.queue)
        else:
            desk.queues.add(member.queue)
        availability: Availability = desk.availability
        reason = desk.reason
        if not desk.queues:
            availability, reason = "logged_out", ""
        elif not isinstance(member, MemberRemoved) and not removed:
            availability, reason = ("paused", member.reason) if member.paused else ("ready", "")
        await self._panel.availability_seen(user, availability, reason, at)

"""The telephony subscriber of the agent panel: each typed event to the right agent's desk.

Agents are found by their phone (pbx, interface); the mapping is cached because it is read
on every ring. Events for phones no agent is bound to are ignored. The router keeps no
picture of its own: an agent's queues and pause, as the PBX reports them, are read from the
floor, which follows the same events.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta

from agent_ui.desk import pbx_availability
from agent_ui.panel_service import PanelService
from calls.floor import Floor
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
    ConnectedCall,
    MemberAdded,
    MemberRemoved,
    PbxSnapshot,
    RingNoAnswer,
    TelephonyEvent,
)

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
    """A TelephonyService subscriber: call it with every event, in order, from its own
    subscriber task (a screen-pop query delays neither the PBX link nor the other
    subscribers). Events that come before `running()` (the snapshot at the first link-up)
    wait in that subscriber's queue; those after the panel stopped are dropped."""

    def __init__(self, find_user: UserLookup) -> None:
        self._find_user = find_user
        self._users: dict[tuple[str, str], int] = {}
        self._started = asyncio.Event()
        self._running: tuple[PanelService, Floor] | None = None

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
        if not isinstance(event, _HANDLED):
            return
        await self._started.wait()
        if self._running is not None:
            await self._route(*self._running, event)

    @contextlib.asynccontextmanager
    async def running(self, panel: PanelService, floor: Floor) -> AsyncIterator[None]:
        """Hand events to `panel`, starting with those that waited for it."""
        self._running = panel, floor
        self._started.set()
        try:
            yield
        finally:
            self._running = None

    async def _route(self, panel: PanelService, floor: Floor, event: TelephonyEvent) -> None:
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
                        interface=event.interface,
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
                await self._membership(panel, floor, event.pbx, event.interface, event.at)
            case PbxSnapshot():
                await panel.resynchronised(
                    event.pbx,
                    event.at,
                    waiting={caller.call_key for caller in event.waiting},
                    connected={call.call_key for call in event.connected},
                )
                for call in event.connected:
                    await self._talking(panel, event, call)
                # Agents the PBX does not list are in no queue, whatever was stored.
                known = [i for pbx, i in self._users if pbx == event.pbx]
                members = [member.interface for member in event.members]
                for interface in dict.fromkeys([*members, *known]):
                    await self._membership(panel, floor, event.pbx, interface, event.at)

    async def _talking(
        self, panel: PanelService, snapshot: PbxSnapshot, call: ConnectedCall
    ) -> None:
        """Put on its agent's desk a call the snapshot found talking."""
        user = await self._user(snapshot.pbx, call.interface)
        if user is not None:
            await panel.talking_now(
                user,
                call_key=call.call_key,
                pbx=snapshot.pbx,
                queue=call.queue,
                number=call.caller_number,
                name=call.caller_name,
                answered_at=snapshot.at - timedelta(seconds=call.talking_s),
            )

    async def _membership(
        self, panel: PanelService, floor: Floor, pbx: str, interface: str, at: datetime
    ) -> None:
        """The agent's availability as the floor has it, once it applied the event at hand."""
        user = await self._user(pbx, interface)
        if user is None:
            return
        await floor.caught_up()
        availability, reason = pbx_availability(floor.membership(pbx, interface))
        await panel.availability_seen(user, availability, reason, at)

"""Agents in and out of their queues, as dynamic members: only an agent at the panel gets
calls.

Logging in signs an agent in (QueueAdd, paused until they choose Ready); logging out, a
session that expired or an admin's sign-out takes them out (QueueRemove). A periodic sweep
finds the desks in the queues whose agent has no live session left (expired, or idle
longer than the idle timeout), so a browser closed at
the end of a shift does not keep ringing a phone nobody answers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from accounts.skills import SkillRepository
from accounts.users import UserRepository
from agent_ui.panel_service import Agent, PanelService
from runtime.jobs import run_every
from telephony.errors import TelephonyError

log = structlog.get_logger()


class Presence:
    """Signs agents in and out of the queues their profile allows."""

    def __init__(
        self,
        panel: PanelService,
        users: UserRepository,
        skills: SkillRepository,
        *,
        sweep_s: float,
        idle: timedelta,
    ) -> None:
        self._panel = panel
        self._idle = idle
        self._users = users
        self._skills = skills
        self.sweep_s = sweep_s

    async def agent(self, user_id: int) -> Agent | None:
        """The agent with their queues on their own PBX and the penalty in each."""
        user = await self._users.get(user_id)
        if user is None or user.role != "agent":
            return None
        seats = [s for s in await self._skills.seats_of(user_id) if s.pbx == (user.pbx or "")]
        return Agent(
            user_id=user.id,
            display_name=user.display_name,
            pbx=user.pbx,
            interface=user.interface,
            queues=tuple(s.queue for s in seats),
            penalties={s.queue: s.penalty for s in seats},
        )

    async def sign_in(self, user_id: int) -> None:
        """At login; a PBX that refuses leaves the agent signed out, and the panel's Ready
        tries again (showing the refusal)."""
        agent = await self.agent(user_id)
        if agent is None:
            return
        try:
            await self._panel.sign_in(agent)
        except TelephonyError as exc:
            log.warning("agent_not_signed_in", agent=user_id, error=str(exc))
            return
        log.info("agent_signed_in", agent=user_id, queues=list(agent.queues))

    async def sign_out(self, user_id: int) -> None:
        agent = await self.agent(user_id)
        if agent is not None:
            await self._panel.sign_out(agent)
            log.info("agent_signed_out", agent=user_id)

    async def session_closed(self, user_id: int) -> None:
        """A logout signs out only the agent's last session: a second tab keeps working."""
        now = self._panel.clock.now()
        if user_id not in await self._panel.store.with_session([user_id], now, self._idle):
            await self.sign_out(user_id)

    async def sweep(self, now: datetime) -> None:
        """Sign out every agent in the queues whose sessions all expired or went idle."""
        seated = self._panel.signed_in()
        alive = await self._panel.store.with_session(seated, now, self._idle) if seated else set()
        for user_id in seated:
            if user_id in alive:
                continue
            log.info("session_expired_signing_out", agent=user_id)
            try:
                await self.sign_out(user_id)
            except TelephonyError as exc:
                # Still in the queue: the next sweep tries again.
                log.warning("expired_agent_not_signed_out", agent=user_id, error=str(exc))

    async def sweep_forever(self) -> None:
        await run_every(self.sweep, self._panel.clock, self.sweep_s, failed="presence_sweep_failed")

"""The one live model of the floor: queues and their waiting callers, agents (state, pause
reason, since when, queues, the call on their phone, held or not) and the PBXs whose link
is down.

Fed by telephony events in PBX order (`await floor.handle(event)`, its own subscriber),
rebuilt from each PbxSnapshot after a (re)connect, so a restart or a lost link never leaves
ghosts. Read by the supervisors' board (`view(now)`), the agent panel (`membership()`) and
/healthz (`health()`). The floor keeps times, not durations: `view(now)` turns them into
"waiting for", "in state for" and "handle time" at the moment a supervisor looks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from telephony.events import (
    AgentRinging,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallExitedQueue,
    CallHeld,
    CallQueued,
    CallResumed,
    LinkDown,
    MemberAdded,
    MemberRemoved,
    PbxSnapshot,
    RingNoAnswer,
    TelephonyEvent,
)

#: The states a supervisor sees, in the order the board lists them.
SHOWN_STATES = ("ringing", "in_call", "wrapup", "ready", "paused", "unavailable", "logged_out")
_BUSY_DEVICE = ("ringing", "in_call")


@dataclass(frozen=True, slots=True)
class Membership:
    """An agent's queues and pause as the PBX last reported them."""

    queues: frozenset[str]
    paused: bool
    reason: str


@dataclass
class _Waiting:
    pbx: str
    queue: str
    caller_number: str
    caller_name: str
    joined_at: datetime
    position: int


@dataclass
class _AgentCall:
    """The queue call on an agent's phone."""

    call_key: str
    queue: str
    caller_number: str
    caller_name: str
    status: str
    since: datetime
    held_since: datetime | None = None


@dataclass
class _Agent:
    pbx: str
    interface: str
    name: str
    device: AgentState
    paused: bool
    reason: str
    since: datetime
    queues: set[str] = field(default_factory=set)
    call: _AgentCall | None = None
    wrapup_from: datetime | None = None

    def set_member(self, state: AgentState, paused: bool, reason: str, at: datetime) -> None:
        """A member state; the timer restarts only when what the board shows changed."""
        reason = reason if paused else ""
        if (state, paused, reason) != (self.device, self.paused, self.reason):
            self.device, self.paused, self.reason, self.since = state, paused, reason, at


class Floor:
    """The live state of every queue and agent of every PBX."""

    def __init__(self, *, wrapup_s: float) -> None:
        self._wrapup = timedelta(seconds=wrapup_s)
        self._waiting: dict[str, _Waiting] = {}
        self._agents: dict[tuple[str, str], _Agent] = {}
        self._links_down: dict[str, datetime] = {}

    async def handle(self, event: TelephonyEvent) -> None:
        """A telephony subscriber: apply one event. It never waits on anything, so the
        floor's subscriber applies all that was published as soon as it runs."""
        self.apply(event)

    async def caught_up(self) -> None:
        """Return once the floor has applied every event published before now (the panel
        reads it while handling the same event in its own subscriber). TelephonyService
        wakes the floor's subscriber when it publishes, and `handle` never suspends, so
        one turn of the event loop is enough."""
        await asyncio.sleep(0)

    def membership(self, pbx: str, interface: str) -> Membership | None:
        """The agent's queues and pause, or None for a phone the PBX never reported."""
        agent = self._agents.get((pbx, interface))
        if agent is None:
            return None
        return Membership(frozenset(agent.queues), agent.paused, agent.reason)

    def health(self) -> tuple[bool, str, datetime | None]:
        """Whether the picture is current, why not, and since when: after a lost link it
        is what the floor knew then, until the PBX's snapshot replaces it."""
        if not self._links_down:
            return True, "current", None
        pbxes = ", ".join(sorted(self._links_down))
        return False, f"not current for {pbxes}: link lost", min(self._links_down.values())

    def apply(self, event: TelephonyEvent) -> None:
        match event:
            case CallQueued():
                self._waiting[event.call_key] = _Waiting(
                    event.pbx,
                    event.queue,
                    event.caller_number,
                    event.caller_name,
                    event.at,
                    event.position,
                )
            case AgentRinging():
                self._on_phone(event, "ringing")
            case CallAnswered():
                self._leave_queue(event.call_key, keep=(event.pbx, event.interface))
                self._on_phone(event, "in_call").wrapup_from = None
            case CallHeld() | CallResumed():
                call = self._call_of(event.pbx, event.interface, event.call_key)
                if call is not None:
                    call.held_since = event.at if isinstance(event, CallHeld) else None
            case RingNoAnswer():
                self._drop_call(event.pbx, event.interface, event.call_key)
            case CallEnded():
                self._end_call(event)
            case CallAbandoned() | CallExitedQueue():
                self._leave_queue(event.call_key, keep=None)
            case AgentStateChanged() | MemberAdded():
                agent = self._agent(event.pbx, event.interface, event.member_name, event.at)
                agent.queues.add(event.queue)
                agent.set_member(event.state, event.paused, event.reason, event.at)
            case MemberRemoved():
                self._remove_member(event)
            case PbxSnapshot():
                self._reconcile(event)
            case LinkDown():
                self._links_down.setdefault(event.pbx, event.at)

    def wrapup_ended(self, pbx: str, interface: str, at: datetime) -> None:
        """The agent ended after-call work on the panel, before the configured time ran out;
        no telephony event says so."""
        agent = self._agents.get((pbx, interface))
        if agent is not None and agent.wrapup_from is not None:
            agent.wrapup_from = None
            agent.since = max(agent.since, at)

    def _agent(self, pbx: str, interface: str, name: str, at: datetime) -> _Agent:
        agent = self._agents.get((pbx, interface))
        if agent is None:
            agent = _Agent(pbx, interface, name or interface, "ready", False, "", at)
            self._agents[(pbx, interface)] = agent
        elif name:
            agent.name = name
        return agent

    def _on_phone(self, event: AgentRinging | CallAnswered, status: str) -> _Agent:
        """The queue call now ringing or answered on the agent's phone, in place of any other."""
        agent = self._agent(event.pbx, event.interface, event.member_name, event.at)
        agent.call = _AgentCall(
            event.call_key, event.queue, event.caller_number, event.caller_name, status, event.at
        )
        return agent

    def _call_of(self, pbx: str, interface: str, call_key: str) -> _AgentCall | None:
        agent = self._agents.get((pbx, interface))
        if agent is None or agent.call is None or agent.call.call_key != call_key:
            return None
        return agent.call

    def _drop_call(self, pbx: str, interface: str, call_key: str) -> bool:
        call = self._call_of(pbx, interface, call_key)
        if call is None:
            return False
        self._agents[(pbx, interface)].call = None
        return True

    def _end_call(self, event: CallEnded) -> None:
        """The agent's after-call work starts when the call they were on ends."""
        ended = self._drop_call(event.pbx, event.interface, event.call_key)
        if ended and self._wrapup:
            self._agents[(event.pbx, event.interface)].wrapup_from = event.at

    def _leave_queue(self, call_key: str, keep: tuple[str, str] | None) -> None:
        """The caller left the queue: other phones that rang for them stop ringing."""
        self._waiting.pop(call_key, None)
        for where, agent in self._agents.items():
            if where != keep and agent.call is not None and agent.call.call_key == call_key:
                agent.call = None

    def _remove_member(self, event: MemberRemoved) -> None:
        agent = self._agents.get((event.pbx, event.interface))
        if agent is None:
            return
        agent.queues.discard(event.queue)
        if not agent.queues:
            del self._agents[(event.pbx, event.interface)]

    def _reconcile(self, snapshot: PbxSnapshot) -> None:
        """Replace what the board believed about one PBX by what it reports now."""
        pbx, at = snapshot.pbx, snapshot.at
        self._links_down.pop(pbx, None)
        known = {k: w for k, w in self._waiting.items() if w.pbx == pbx}
        for key in known:
            del self._waiting[key]
        for caller in snapshot.waiting:
            before = known.get(caller.call_key)
            joined = before.joined_at if before else at - timedelta(seconds=caller.wait_s)
            self._waiting[caller.call_key] = _Waiting(
                pbx,
                caller.queue,
                caller.caller_number,
                caller.caller_name,
                joined,
                caller.position,
            )
        previous = {i: a for (p, i), a in self._agents.items() if p == pbx}
        previous_calls = {i: a.call for i, a in previous.items()}
        for interface in previous:
            del self._agents[(pbx, interface)]
        for member in snapshot.members:
            agent = self._agents.get((pbx, member.interface))
            if agent is None:
                agent = previous.get(member.interface) or _Agent(
                    pbx,
                    member.interface,
                    member.member_name or member.interface,
                    member.state,
                    member.paused,
                    member.reason,
                    at,
                )
                agent.queues, agent.call = set(), None
                self._agents[(pbx, member.interface)] = agent
            agent.queues.add(member.queue)
            agent.set_member(member.state, member.paused, member.reason, at)
        for connected in snapshot.connected:
            agent = self._agents.get((pbx, connected.interface))
            if agent is None:
                continue
            kept = previous_calls.get(connected.interface)
            if kept is not None and kept.call_key == connected.call_key:
                agent.call = kept
                kept.status = "in_call"
            else:
                agent.call = _AgentCall(
                    connected.call_key,
                    connected.queue,
                    connected.caller_number,
                    connected.caller_name,
                    "in_call",
                    at - timedelta(seconds=connected.talking_s),
                )

    def _shown(self, agent: _Agent, now: datetime) -> tuple[str, datetime]:
        """What the board shows for an agent, and since when."""
        if agent.call is not None:
            return agent.call.status, agent.call.since
        if agent.device in _BUSY_DEVICE:
            return agent.device, agent.since
        if agent.wrapup_from is not None:
            wrapup_until = agent.wrapup_from + self._wrapup
            if now < wrapup_until:
                return "wrapup", agent.wrapup_from
            return ("paused" if agent.paused else agent.device), max(agent.since, wrapup_until)
        return ("paused" if agent.paused else agent.device), agent.since

    def view(self, now: datetime) -> dict[str, Any]:
        """The board as JSON-ready data at `now`; durations in whole seconds."""
        agents = [self._agent_view(agent, now) for agent in self._agents.values()]
        agents.sort(key=lambda a: (SHOWN_STATES.index(a["state"]), -a["in_state_s"], a["name"]))
        queues: dict[tuple[str, str], dict[str, Any]] = {}

        def queue(pbx: str, name: str) -> dict[str, Any]:
            if (pbx, name) not in queues:
                counts = dict.fromkeys(SHOWN_STATES, 0)
                queues[(pbx, name)] = {"pbx": pbx, "queue": name, "waiting": [], "agents": counts}
            return queues[(pbx, name)]

        for waiting in sorted(self._waiting.values(), key=lambda w: w.joined_at):
            queue(waiting.pbx, waiting.queue)["waiting"].append(
                {
                    "caller_number": waiting.caller_number,
                    "caller_name": waiting.caller_name,
                    "position": waiting.position,
                    "wait_s": _seconds(now - waiting.joined_at),
                }
            )
        for agent in agents:
            for name in agent["queues"]:
                queue(agent["pbx"], name)["agents"][agent["state"]] += 1
        for item in queues.values():
            item["longest_wait_s"] = max((w["wait_s"] for w in item["waiting"]), default=None)
        return {
            "now": now.isoformat(),
            "links_down": [
                {"pbx": pbx, "since_s": _seconds(now - since)}
                for pbx, since in sorted(self._links_down.items())
            ],
            "queues": [queues[key] for key in sorted(queues)],
            "agents": agents,
        }

    def _agent_view(self, agent: _Agent, now: datetime) -> dict[str, Any]:
        state, since = self._shown(agent, now)
        call = agent.call
        return {
            "pbx": agent.pbx,
            "interface": agent.interface,
            "name": agent.name,
            "state": state if state in SHOWN_STATES else "unavailable",
            "reason": agent.reason if state == "paused" else "",
            "in_state_s": _seconds(now - since),
            "queues": sorted(agent.queues),
            "call": None
            if call is None
            else {
                "queue": call.queue,
                "caller_number": call.caller_number,
                "caller_name": call.caller_name,
                "handle_s": _seconds(now - call.since) if call.status == "in_call" else 0,
                "held": call.held_since is not None,
            },
        }


def _seconds(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds()))

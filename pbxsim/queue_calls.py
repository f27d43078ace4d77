"""Inbound queue calls, event for event as Asterisk 22's app_queue reports them.

Each method emits one phase of a call (join, ring, ring-no-answer, answer, hold, transfer,
hang-up, abandon) in the order of the real captures in tests/fixtures/ami-traces. Phases are emitted
synchronously, so no other event can interleave inside one phase.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import structlog

from pbxsim.after_queue import QueueExitPlan
from pbxsim.core import PbxCore, agent_number
from pbxsim.dialplan import NOTICE_PROMPT, InboundPlan
from pbxsim.model import (
    INUSE,
    NOT_INUSE,
    ONHOLD,
    RINGING,
    UNAVAILABLE,
    Bridge,
    Channel,
    Member,
    Queue,
    clean,
    trim,
)
from pbxsim.phones import AgentPhone
from pbxsim.tasks import BackgroundTasks
from pbxsim.templates import (
    Fields,
    bridge_block,
    bridge_event,
    cdr,
    chan_event,
    channel_block,
    device_state,
    dial_event,
    event,
    hangup,
    newexten,
    queue_agent_event,
    user_event,
    varset,
)

log = structlog.get_logger()

CallState = Literal["queued", "connected", "transferred", "after_queue", "ended"]
HangupSide = Literal["caller", "agent"]
# The QUEUESTATUS a caller leaves Queue() with, back in the dialplan.
ExitStatus = Literal["TIMEOUT", "EXITWITHKEY", "CONTINUE"]

TRUNK = "PJSIP/caller-trunk"
ANSWER_PAUSE = 0.5  # Answer() to Queue() in the captures: the channel settles for 500 ms
RECHECK = 1.0  # app_queue's RECHECK: how often a waiting caller looks for a free member


@dataclass
class Attempt:
    """One ring of one agent for a caller: becomes one Cdr at the end."""

    agent: Channel
    member: Member
    start: float
    end: float | None = None
    answered: bool = False


@dataclass
class QueueCall:
    """A caller in (or served by) a queue. Tests hold on to it to drive the call."""

    queue: Queue
    caller: Channel
    joined: float
    original_position: int
    state: CallState = "queued"
    attempts: list[Attempt] = field(default_factory=list)
    ringing: Attempt | None = None
    retrying: bool = False
    declined: bool = False
    bridge: Bridge | None = None
    connected_at: float | None = None
    held: bool = False
    outcome: str | None = None
    answer_signal: asyncio.Event = field(default_factory=asyncio.Event)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    recheck: asyncio.Task[None] | None = None
    timer: asyncio.Task[None] | None = None
    keys: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    in_dialplan: bool = False
    consulting: bool = False

    @property
    def uniqueid(self) -> str:
        return self.caller.uniqueid

    @property
    def agent(self) -> Channel | None:
        attempt = self.attempts[-1] if self.attempts else None
        return attempt.agent if attempt else None

    @property
    def member(self) -> Member | None:
        return self.attempts[-1].member if self.attempts else None


AfterQueue = Callable[[QueueCall], Coroutine[Any, Any, None]]


class QueueEngine:
    """Queue logic (rrmemory, ring timeout, retry, autofill) and the call phases."""

    def __init__(
        self,
        core: PbxCore,
        exten: str = "1169",
        plan: InboundPlan | None = None,
        trunk: str = TRUNK,
    ) -> None:
        self.core = core
        self.exten = exten
        self.plan = plan or InboundPlan()
        self.trunk = trunk
        self.device_lag = 0.0
        self.dialplan = QueueExitPlan(core, self.plan, self._leave_dialplan)
        self.phones: dict[str, AgentPhone] = {}
        self.default_phone = AgentPhone()
        self.waiting: dict[str, list[QueueCall]] = {}
        self.calls: list[QueueCall] = []
        self.after_agent: AfterQueue | None = None
        self._tasks = BackgroundTasks("queue")
        core.hangup_hooks.append(self._hangup_channel)

    def _hangup_channel(self, ch: Channel) -> bool:
        for call in self.calls:
            if call.in_dialplan and ch is call.caller:
                call.gone.set()
                return True
            if call.state in ("ended", "after_queue"):
                continue
            if ch is call.caller:
                self.hangup(call, "caller")
                return True
            if ch is call.agent and call.state == "connected":
                self._agent_leg_cut(call)
                return True
            if call.ringing is not None and ch is call.ringing.agent:
                self.decline(call.ringing.member.interface)
                return True
        return False

    def _now(self) -> float:
        return self.core.clock.now()

    # joining ------------------------------------------------------------------------
    async def join(self, queue_name: str, number: str, name: str) -> QueueCall:
        number, name = clean(number) or "anonymous", clean(name) or clean(number)
        emit = self.core.emit
        trunk_was_idle = not self.core.endpoint_busy(self.trunk)
        caller = self.core.new_channel(
            self.trunk,
            caller_num=number,
            caller_name=name,
            context="from-trunk",
            exten=self.exten,
            state=4,
        )
        emit(chan_event("Newchannel", caller))
        emit(varset(caller, "SIPDOMAIN", "127.0.0.1"))
        emit(newexten(caller, "NoOp", f'Hotline call from "{name}" <{number}>'))
        caller.priority = 2
        emit(newexten(caller, "Answer", ""))
        caller.state, caller.answered = 6, self._now()
        emit(chan_event("Newstate", caller))
        if trunk_was_idle:
            emit(device_state(self.trunk, INUSE))
        await self.core.clock.sleep(ANSWER_PAUSE)
        if self.plan.notice_event is not None:
            await self._play_notice(caller, queue_name, self.plan.notice_event)
        return self._enqueue(self.core.queues[queue_name], caller)

    async def _play_notice(self, caller: Channel, queue_name: str, template: str) -> None:
        """Playback of the recording notice, then `UserEvent(RecordingNotice,...)`."""
        caller.priority += 2
        self.core.emit(newexten(caller, "Playback", NOTICE_PROMPT))
        await self.core.clock.sleep(self.plan.notice_seconds)
        data = template.format(queue=queue_name, uniqueid=caller.uniqueid)
        caller.priority += 1
        self.core.emit(newexten(caller, "UserEvent", data))
        self.core.emit(user_event(caller, data))

    def requeue_channel(self, caller: Channel, queue_name: str) -> QueueCall:
        """A caller transferred to the queue's extension: `Goto(from-trunk,1169,1)` again.

        The channel (and so the Uniqueid) stays the same; app_queue sees a new caller, who
        is offered to a member once the transfer has let go of the old call.
        """
        emit = self.core.emit
        caller.context, caller.exten, caller.priority = "from-trunk", self.exten, 1
        emit(
            newexten(
                caller, "NoOp", f'Hotline call from "{caller.caller_name}" <{caller.caller_num}>'
            )
        )
        caller.priority = 2
        emit(newexten(caller, "Answer", ""))
        return self._enqueue(self.core.queues[queue_name], caller, offer=False)

    def _enqueue(self, queue: Queue, caller: Channel, *, offer: bool = True) -> QueueCall:
        emit = self.core.emit
        app_data = self.plan.app_data(queue.name)
        caller.priority, caller.application, caller.application_data = 3, "Queue", app_data
        emit(newexten(caller, "Queue", app_data))
        for variable in ("ANSWEREDTIME", "DIALEDTIME", "QUEUEWAIT"):
            emit(varset(caller, variable, ""))
            emit(varset(caller, f"{variable}_MS", ""))
        waiting = self.waiting.setdefault(queue.name, [])
        call = QueueCall(queue, caller, self._now(), len(waiting) + 1)
        waiting.append(call)
        self.calls.append(call)
        if len(waiting) == 1:
            emit(device_state(f"Queue:{queue.name}", RINGING))
        emit(
            chan_event(
                "QueueCallerJoin",
                caller,
                ("Queue", queue.name),
                ("Position", str(len(waiting))),
                ("Count", str(len(waiting))),
                privilege="agent,all",
            )
        )
        emit(chan_event("MusicOnHoldStart", caller, ("Class", "default")))
        self._log(call, "NONE", "ENTERQUEUE", "", caller.caller_num, call.original_position)
        log.info("sim_caller_joined", queue=queue.name, uniqueid=caller.uniqueid)
        if offer:
            self._offer(call)
        call.recheck = self._spawn(self._recheck(call))
        if self.plan.timeout is not None:
            call.timer = self._spawn(self._queue_timeout(call, self.plan.timeout))
        return call

    def dispatch(self, queue: Queue) -> None:
        """A member became free: the caller at the head of the queue gets it at once."""
        waiting = self.waiting.get(queue.name)
        if waiting:
            self._offer(waiting[0])

    def _offer(self, call: QueueCall) -> None:
        if call.ringing is not None or call.retrying or call.state != "queued":
            return
        member = call.queue.next_member(self._now())
        if member is not None:
            self._ring(call, member)

    async def _recheck(self, call: QueueCall) -> None:
        """Callers behind the head look for a free member once a second, as app_queue does."""
        while call.state == "queued":
            await self.core.clock.sleep(RECHECK)
            self._offer(call)

    # ringing ------------------------------------------------------------------------
    def _ring(self, call: QueueCall, member: Member) -> None:
        emit, caller = self.core.emit, call.caller
        endpoint = member.interface.split("/", 1)[-1]
        agent = self.core.new_channel(
            member.interface,
            caller_num=agent_number(member.interface),
            caller_name=member.name,
            context="from-agents",
            exten="s",
            linkedid=caller.linkedid,
        )
        attempt = Attempt(agent, member, self._now())
        call.attempts.append(attempt)
        call.ringing = attempt
        call.answer_signal = asyncio.Event()
        emit(chan_event("Newchannel", agent))
        emit(varset(agent, "DIALEDPEERNUMBER", endpoint))
        dialled = replace(
            agent,
            connected_num=caller.caller_num,
            connected_name=caller.caller_name,
            exten=caller.exten,
        )
        emit(queue_agent_event("AgentCalled", caller, dialled, member))
        emit(dial_event("DialBegin", caller, agent, ("DialString", member.interface)))
        caller.connected_num, caller.connected_name = agent.caller_num, agent.caller_name
        emit(chan_event("NewConnectedLine", caller))
        agent.state, agent.exten = 5, caller.exten
        agent.connected_num, agent.connected_name = caller.caller_num, caller.caller_name
        agent.application, agent.application_data = "AppQueue", "(Outgoing Line)"
        emit(chan_event("Newstate", agent))
        emit(newexten(agent, "AppQueue", "(Outgoing Line)"))
        emit(chan_event("NewConnectedLine", agent))
        emit(device_state(member.interface, RINGING))
        emit(dial_event("DialState", caller, agent, ("DialStatus", "RINGING")))
        self.core.set_member_state(member.interface, RINGING)
        call.task = self._spawn(self._ring_wait(call, attempt))

    async def _ring_wait(self, call: QueueCall, attempt: Attempt) -> None:
        phone = self.phones.get(attempt.member.interface, self.default_phone)
        timeout = call.queue.timeout
        auto = phone.answer_after
        limit = timeout if auto is None else min(auto, timeout)
        signalled = await self.core.clock.wait(call.answer_signal, limit)
        if call.declined:
            self._ring_no_answer(call, attempt, self._now() - attempt.start)
        elif signalled or (auto is not None and auto < timeout):
            self._connect(call, attempt)
            return
        else:
            self._ring_no_answer(call, attempt, timeout)
        call.retrying = True
        await self.core.clock.sleep(call.queue.retry)
        call.retrying = False
        self._offer(call)

    def _ring_no_answer(self, call: QueueCall, attempt: Attempt, rang: float) -> None:
        emit, caller, agent = self.core.emit, call.caller, attempt.agent
        call.ringing, call.declined = None, False
        attempt.end = self._now()
        ring_ms = str(int(rang * 1000))
        emit(
            queue_agent_event(
                "AgentRingNoAnswer", caller, agent, attempt.member, ("RingTime", ring_ms)
            )
        )
        self._log(call, attempt.member.name, "RINGNOANSWER", ring_ms)
        emit(dial_event("DialEnd", caller, agent, ("DialStatus", "NOANSWER")))
        emit(dial_event("DialEnd", caller, agent, ("DialStatus", "CANCEL")))
        emit(hangup(agent, 0))
        self.core.drop_channel(agent)
        emit(device_state(attempt.member.interface, NOT_INUSE))
        self.core.set_member_state(attempt.member.interface, NOT_INUSE)
        log.info("sim_ring_no_answer", uniqueid=caller.uniqueid, member=attempt.member.interface)

    def answer(self, interface: str) -> QueueCall:
        """The agent at `interface` picks up the call ringing there."""
        call = self._ringing_at(interface)
        call.answer_signal.set()
        return call

    def decline(self, interface: str) -> QueueCall:
        """The agent rejects the ringing call: it goes on to the next member after `retry`."""
        call = self._ringing_at(interface)
        call.declined = True
        call.answer_signal.set()
        return call

    def _ringing_at(self, interface: str) -> QueueCall:
        for call in self.calls:
            if call.ringing is not None and call.ringing.member.interface == interface:
                return call
        raise LookupError(f"nothing rings at {interface}")

    # answered -----------------------------------------------------------------------
    def _connect(self, call: QueueCall, attempt: Attempt) -> None:
        emit, caller, agent, member = self.core.emit, call.caller, attempt.agent, attempt.member
        now = self._now()
        call.ringing = None
        attempt.answered = True
        agent.state, agent.answered = 6, now
        emit(chan_event("Newstate", agent))
        emit(device_state(member.interface, INUSE))
        emit(dial_event("DialEnd", caller, agent, ("DialStatus", "ANSWER")))
        emit(chan_event("MusicOnHoldStop", caller))
        position = self._leave_queue(call)
        holdtime = whole_seconds(call.joined, now)
        emit(varset(caller, "QUEUEPOSITION", str(position)))
        emit(varset(caller, "QUEUEWAIT", str(holdtime)))
        emit(varset(caller, "QUEUEWAIT_MS", str(holdtime * 1000)))
        ringtime = str(whole_seconds(attempt.start, now))
        emit(
            queue_agent_event(
                "AgentConnect",
                caller,
                agent,
                member,
                ("HoldTime", str(holdtime)),
                ("RingTime", ringtime),
            )
        )
        self._log(call, member.name, "CONNECT", holdtime, agent.uniqueid, ringtime)
        bridge = Bridge(self.core.ids.bridge_id())
        emit(bridge_event("BridgeCreate", bridge))
        self.core.set_member_state(member.interface, INUSE, in_call=True)
        for ch in (agent, caller):
            bridge.channels.append(ch)
            ch.bridge = bridge
            emit(bridge_event("BridgeEnter", bridge, ch))
        caller_pvt, agent_pvt = str(uuid.uuid4()), f"1-{secrets.randbelow(99999)}@127.0.0.1"
        for _ in range(3):
            emit(varset(caller, "BRIDGEPEER", agent.name))
            emit(varset(caller, "BRIDGEPVTCALLID", caller_pvt))
            emit(varset(agent, "BRIDGEPEER", caller.name))
            emit(varset(agent, "BRIDGEPVTCALLID", agent_pvt))
        bridge.technology = "native_rtp"
        call.queue.stats.record_hold(holdtime)
        call.bridge, call.connected_at, call.state = bridge, now, "connected"
        call.connected.set()
        log.info("sim_call_connected", uniqueid=caller.uniqueid, member=member.interface)

    def _leave_queue(self, call: QueueCall) -> int:
        waiting = self.waiting[call.queue.name]
        position = waiting.index(call) + 1
        waiting.remove(call)
        if not waiting:
            self.core.emit(device_state(f"Queue:{call.queue.name}", NOT_INUSE))
        self.core.emit(
            chan_event(
                "QueueCallerLeave",
                call.caller,
                ("Queue", call.queue.name),
                ("Position", str(position)),
                ("Count", str(len(waiting))),
                privilege="agent,all",
            )
        )
        return position

    # in the call --------------------------------------------------------------------
    def hold(self, call: QueueCall, music_class: str | None = "default") -> None:
        """The agent holds the caller (a phone's hold names its MOH class, Atxfer's not)."""
        agent, member = self._connected_agent(call)
        extra = [("MusicClass", music_class)] if music_class else []
        self.core.emit(chan_event("Hold", agent, *extra))
        self.core.emit(chan_event("MusicOnHoldStart", call.caller, ("Class", "default")))
        self.core.emit(device_state(member.interface, ONHOLD))
        self.core.set_member_state(member.interface, ONHOLD)
        call.held = True

    def unhold(self, call: QueueCall) -> None:
        agent, member = self._connected_agent(call)
        self.core.emit(chan_event("Unhold", agent))
        self.core.emit(chan_event("MusicOnHoldStop", call.caller))
        self.core.emit(device_state(member.interface, INUSE))
        self.core.set_member_state(member.interface, INUSE)
        call.held = False

    def transfer(self, call: QueueCall, exten: str, context: str) -> None:
        """Blind transfer by the agent: the agent leaves, the caller goes to `exten@context`."""
        agent, member = self._connected_agent(call)
        bridge = call.bridge
        assert bridge is not None
        emit, caller = self.core.emit, call.caller
        emit(
            event(
                "BlindTransfer",
                "call,all",
                [("Result", "Success")],
                channel_block(agent, "Transferer"),
                channel_block(caller, "Transferee"),
                bridge_block(bridge),
                [("IsExternal", "No"), ("Context", clean(context)), ("Extension", clean(exten))],
            )
        )
        self._complete(call, "transfer", ("BLINDTRANSFER", clean(exten), clean(context)))
        for ch in (agent, caller):
            bridge.channels.remove(ch)
            ch.bridge = None
            emit(bridge_event("BridgeLeave", bridge, ch))
        emit(bridge_event("BridgeDestroy", bridge))
        emit(hangup(agent, 16))
        self.core.drop_channel(agent)
        self._release_member(call, member)
        caller.context, caller.exten, caller.priority = clean(context), clean(exten), 1
        caller.application, caller.application_data = "Dial", clean(exten)
        emit(newexten(caller, "Dial", clean(exten)))
        call.state = "transferred"
        self.dispatch(call.queue)

    def hand_over(self, call: QueueCall, transferer: Channel, exten: str, context: str) -> Channel:
        """AMI BlindTransfer of a queue call: the queue lets go of both legs.

        `transferer` is the channel the action named; the OTHER leg is the one transferred
        (blind-transfer-ami.txt). The transferer's leg ends: an agent's is hung up, a
        caller's goes on in the dialplan (QueueExit CONTINUE, Hangup). Returns the channel
        that now runs `exten@context`.
        """
        agent, _ = self._connected_agent(call)
        emit, caller, bridge = self.core.emit, call.caller, call.bridge
        assert bridge is not None
        moved = caller if transferer is agent else agent
        emit(chan_event("Unhold", transferer))
        emit(varset(caller, "BLINDTRANSFER", agent.name))
        emit(varset(agent, "BLINDTRANSFER", caller.name))
        emit(
            event(
                "BlindTransfer",
                "call,all",
                [("Result", "Success")],
                channel_block(transferer, "Transferer"),
                channel_block(moved, "Transferee"),
                bridge_block(bridge),
                [("IsExternal", "Yes"), ("Context", clean(context)), ("Extension", clean(exten))],
            )
        )
        self._complete(call, "transfer", ("BLINDTRANSFER", clean(exten), clean(context)))
        self._leave_bridge(bridge, transferer)
        moved.context, moved.exten, moved.priority = clean(context), clean(exten), 1
        emit(newexten(moved, moved.application, moved.application_data))
        self._leave_bridge(bridge, moved)
        emit(bridge_event("BridgeDestroy", bridge))
        call.bridge = None
        if transferer is caller:
            self.dialplan.exit_event(call, "CONTINUE")
            self.dialplan.hang_up_line(call)
        return moved

    def let_go_attended(self, call: QueueCall, bridge_id: str) -> None:
        """An attended transfer completed into bridge `bridge_id`: the agent's leg ends, the
        caller stays bridged."""
        agent, member = self._connected_agent(call)
        self._complete(call, "transfer", ("ATTENDEDTRANSFER", "BRIDGE", bridge_id))
        self.core.emit(hangup(agent, 16))
        self.core.drop_channel(agent)
        self._release_member(call, member)
        call.consulting = False
        self._finish(call, "transferred")

    def let_go(self, call: QueueCall, transferer: Channel) -> None:
        """After a hand-over: the transferer's leg hangs up and the member is free again."""
        agent, member = self._connected_agent(call)
        self.core.emit_rtp_qos(transferer)
        if transferer is agent:
            self.core.emit(hangup(agent, 16))
            self.core.drop_channel(agent)
            self._release_member(call, member)
            self._finish(call, "transferred")
            return
        self._release_member(call, member)
        self._caller_leaves(call, "transferred")

    def _connected_agent(self, call: QueueCall) -> tuple[Channel, Member]:
        if call.state != "connected" or call.agent is None or call.member is None:
            raise RuntimeError(f"call {call.uniqueid} is not connected to an agent")
        return call.agent, call.member

    def _complete(self, call: QueueCall, reason: str, transfer: tuple[str, ...] = ()) -> None:
        """AgentComplete; queue_log says COMPLETECALLER / COMPLETEAGENT, or for a transfer
        its own row: `transfer` is the event and the fields before the times."""
        agent, member = self._connected_agent(call)
        assert call.connected_at is not None
        holdtime = str(whole_seconds(call.joined, call.connected_at))
        talktime = whole_seconds(call.connected_at, self._now())
        logged, *before = transfer or (f"COMPLETE{reason.upper()}",)
        self._log(call, member.name, logged, *before, holdtime, talktime, call.original_position)
        self.core.emit(
            queue_agent_event(
                "AgentComplete",
                call.caller,
                agent,
                member,
                ("HoldTime", holdtime),
                ("TalkTime", str(talktime)),
                ("Reason", reason),
            )
        )
        call.queue.stats.completed += 1
        call.queue.stats.record_talk(talktime)

    def connected_call(self, ch: Channel) -> QueueCall | None:
        """The answered queue call `ch` is a leg of (the caller's or the agent's channel)."""
        for call in self.calls:
            if call.state == "connected" and ch in (call.caller, call.agent):
                return call
        return None

    def waiting_call(self, ch: Channel) -> QueueCall | None:
        for call in self.calls:
            if call.state == "queued" and ch is call.caller:
                return call
        return None

    def _release_member(self, call: QueueCall, member: Member) -> None:
        now = int(self._now())
        for m in self.core.members_of(member.interface):
            m.calls_taken += 1 if m.queue == call.queue.name else 0
            m.last_call, m.in_call = now, False
        if self.device_lag > 0:
            self._spawn(self._device_idle_later(member.interface))
        else:
            self._device_idle(member.interface)

    def _device_idle(self, interface: str) -> None:
        self.core.emit(device_state(interface, NOT_INUSE))
        self.core.set_member_state(interface, NOT_INUSE, in_call=False)

    async def _device_idle_later(self, interface: str) -> None:
        """The phone's hang-up reaches app_queue through the device-state queue, a moment
        after AgentComplete: a QueuePause sent on AgentComplete can still see Status 2
        (INUSE), as in wrapup-time.txt."""
        await self.core.clock.sleep(self.device_lag)
        self._device_idle(interface)
        for queue in self.core.queues.values():
            self.dispatch(queue)

    # ending -------------------------------------------------------------------------
    def hangup(self, call: QueueCall, by: HangupSide = "caller") -> None:
        if call.state == "queued":
            if by == "agent" and call.ringing is not None:
                raise RuntimeError("an agent cannot hang up a call that is still ringing")
            self.abandon(call)
        elif call.state == "connected" and call.consulting and by == "agent":
            # The agent's phone hangs up during an attended transfer: that completes it.
            assert call.agent is not None
            self.core.hang_up(call.agent)
        elif call.state == "connected":
            if by == "caller":
                self._caller_hangs_up(call)
            else:
                self._agent_hangs_up(call)
        elif call.state == "transferred":
            emit, caller = self.core.emit, call.caller
            emit(chan_event("HangupRequest", caller))
            emit(hangup(caller, 16))
            self._drop_caller(call)
            self._emit_cdrs(call)
            self._finish(call, "transferred")
        elif call.in_dialplan:
            call.gone.set()
        elif call.state == "ended" and call.caller.uniqueid in self.core.channels:
            # Transferred on: whoever holds the channel now hangs it up.
            self.core.hang_up(call.caller)
        elif call.state == "after_queue":
            # The caller is in the in-call survey, which owns the channel now.
            self.core.hang_up(call.caller)

    def _caller_hangs_up(self, call: QueueCall) -> None:
        agent, member = self._connected_agent(call)
        emit, caller, bridge = self.core.emit, call.caller, call.bridge
        assert bridge is not None
        self.core.emit_rtp_qos(caller, agent)
        emit(chan_event("HangupRequest", caller))
        self._clear_bridge_peers(caller, agent)
        self._complete(call, "caller")
        self._leave_bridge(bridge, caller)
        self._call_times(call)
        emit(chan_event("SoftHangupRequest", caller, ("Cause", "16")))
        self._leave_bridge(bridge, agent)
        emit(hangup(caller, 16))
        emit(bridge_event("BridgeDestroy", bridge))
        self._drop_caller(call)
        self._emit_cdrs(call)
        self.core.emit_rtp_qos(agent)
        emit(hangup(agent, 16))
        self.core.drop_channel(agent)
        self._release_member(call, member)
        self._finish(call, "answered")

    def _agent_hangs_up(self, call: QueueCall) -> None:
        agent, member = self._connected_agent(call)
        emit, caller, bridge = self.core.emit, call.caller, call.bridge
        assert bridge is not None
        self.core.emit_rtp_qos(agent, caller)
        emit(chan_event("HangupRequest", agent))
        self._complete(call, "agent")
        self._clear_bridge_peers(agent, caller)
        self._leave_bridge(bridge, agent)
        emit(hangup(agent, 16))
        self.core.drop_channel(agent)
        self._leave_bridge(bridge, caller)
        emit(bridge_event("BridgeDestroy", bridge))
        self._call_times(call)
        if self.after_agent is not None:
            # Queue(hotline,c): the caller stays in the dialplan (the in-call survey).
            self._release_member(call, member)
            call.state = "after_queue"
            self._spawn(self._after_queue(call, self.after_agent))
            return
        if self.plan.continues:
            self._release_member(call, member)
            self._to_dialplan(call, "CONTINUE")
            return
        emit(chan_event("SoftHangupRequest", caller, ("Cause", "16")))
        self._release_member(call, member)
        self._caller_leaves(call)

    def _caller_leaves(self, call: QueueCall, outcome: str = "answered") -> None:
        caller = call.caller
        self.core.emit_rtp_qos(caller)
        self._emit_cdrs(call)
        self.core.emit(hangup(caller, 16))
        self._drop_caller(call)
        self._finish(call, outcome)

    async def _after_queue(self, call: QueueCall, step: AfterQueue) -> None:
        try:
            await step(call)
        finally:
            self.core.emit(chan_event("SoftHangupRequest", call.caller, ("Cause", "16")))
            self._caller_leaves(call)

    def abandon(self, call: QueueCall) -> None:
        """The caller gives up while waiting (or while an agent rings)."""
        if call.state != "queued":
            raise RuntimeError(f"call {call.uniqueid} is not waiting in the queue")
        emit, caller = self.core.emit, call.caller
        now = self._now()
        ringing = call.ringing
        call.ringing = None
        if call.task is not None:
            call.task.cancel()
        self.core.emit_rtp_qos(caller)
        emit(chan_event("HangupRequest", caller))
        emit(chan_event("MusicOnHoldStop", caller))
        if ringing is not None:
            ringing.end = now
            emit(dial_event("DialEnd", caller, ringing.agent, ("DialStatus", "CANCEL")))
        self._emit_cdrs(call)
        if ringing is not None:
            emit(dial_event("DialEnd", caller, ringing.agent, ("DialStatus", "CANCEL")))
        wait = whole_seconds(call.joined, now)
        self._wait_times(call, wait)
        emit(varset(caller, "ABANDONED", "TRUE"))
        emit(self._abandon_event(call, wait))
        position = self._leave_queue(call)
        emit(varset(caller, "QUEUEPOSITION", str(position)))
        emit(chan_event("SoftHangupRequest", caller, ("Cause", "16")))
        emit(hangup(caller, 0))
        self.core.drop_channel(caller)
        if ringing is not None:
            emit(hangup(ringing.agent, 0))
            self.core.drop_channel(ringing.agent)
            emit(device_state(ringing.member.interface, NOT_INUSE))
            self.core.set_member_state(ringing.member.interface, NOT_INUSE)
        if not self.core.endpoint_busy(self.trunk):
            emit(device_state(self.trunk, UNAVAILABLE))
        call.queue.stats.abandoned += 1
        self._finish(call, "abandoned")

    # back to the dialplan -------------------------------------------------------------
    async def _queue_timeout(self, call: QueueCall, seconds: float) -> None:
        """Queue()'s timeout: reported like an abandon, then QUEUESTATUS=TIMEOUT."""
        await self.core.clock.sleep(seconds - (self._now() - call.joined))
        if call.state != "queued":
            return
        emit, caller = self.core.emit, call.caller
        self._stop_ringing(call)
        wait = whole_seconds(call.joined, self._now())
        emit(varset(caller, "ABANDONED", "TRUE"))
        emit(self._abandon_event(call, wait, "EXITWITHTIMEOUT"))
        self._wait_times(call, wait)
        emit(chan_event("MusicOnHoldStop", caller))
        position = self._leave_queue(call)
        emit(varset(caller, "QUEUEPOSITION", str(position)))
        emit(varset(caller, "QUEUESTATUS", "TIMEOUT"))
        call.queue.stats.abandoned += 1
        self._to_dialplan(call, "TIMEOUT")

    def press(self, call: QueueCall, digit: str) -> None:
        """The caller presses a key: exit by key while waiting, or an answer to a prompt."""
        emit, caller = self.core.emit, call.caller
        digit = clean(digit)[:1]
        emit(
            chan_event(
                "DTMFBegin",
                caller,
                ("Digit", digit),
                ("Direction", "Received"),
                privilege="dtmf,all",
            )
        )
        emit(
            chan_event(
                "DTMFEnd",
                caller,
                ("Digit", digit),
                ("DurationMs", "140"),
                ("Direction", "Received"),
                privilege="dtmf,all",
            )
        )
        if call.state == "after_queue":
            call.keys.put_nowait(digit)
        elif call.state == "queued" and self.plan.exit_context and digit.isdigit():
            self._exit_with_key(call, self.plan.exit_context, digit)

    def _exit_with_key(self, call: QueueCall, context: str, digit: str) -> None:
        emit, caller = self.core.emit, call.caller
        self._stop_ringing(call)
        wait = whole_seconds(call.joined, self._now())
        self._wait_times(call, wait)
        caller.context, caller.exten = context, digit
        emit(newexten(caller, "Queue", caller.application_data))
        emit(chan_event("MusicOnHoldStop", caller))
        position = self._leave_queue(call)
        self._log(call, "NONE", "EXITWITHKEY", digit, position, call.original_position, wait)
        emit(varset(caller, "QUEUEPOSITION", str(position)))
        caller.priority = 0
        self._to_dialplan(call, "EXITWITHKEY", digit)

    def redirect(self, call: QueueCall, context: str, exten: str) -> None:
        """AMI Redirect of a waiting caller: app_queue reports an abandon (redirect-hangup-ami)."""
        emit, caller = self.core.emit, call.caller
        emit(chan_event("MusicOnHoldStop", caller))
        self._stop_ringing(call)
        caller.context, caller.exten = clean(context), clean(exten)
        emit(newexten(caller, "Queue", caller.application_data))
        emit(self._abandon_event(call, whole_seconds(call.joined, self._now())))
        self._leave_queue(call)
        call.queue.stats.abandoned += 1
        caller.priority = 0
        call.state, call.in_dialplan = "after_queue", True
        self._spawn(self._announcement(call))

    async def _announcement(self, call: QueueCall) -> None:
        """A context the simulator does not know: answer, play a message, hang up."""
        self.dialplan.step(call, "Answer", "")
        self.dialplan.step(call, "Playback", "announcement")
        if await self.core.clock.wait(call.gone, self.plan.prompt_seconds):
            self._leave_dialplan(call, "redirected", True)
            return
        self.dialplan.hang_up_line(call)
        self._leave_dialplan(call, "redirected", False)

    def _to_dialplan(self, call: QueueCall, status: ExitStatus, digit: str = "") -> None:
        call.state, call.in_dialplan = "after_queue", True
        self._spawn(self.dialplan.run(call, status, digit))

    def _leave_dialplan(self, call: QueueCall, outcome: str, caller_hung_up: bool) -> None:
        """The end of the dialplan: the caller hung up, or Hangup() did it."""
        caller = call.caller
        if caller_hung_up:
            self.core.emit(chan_event("HangupRequest", caller))
        self.core.emit_rtp_qos(caller)
        self._emit_cdrs(call)
        self.core.emit(hangup(caller, 16))
        self._drop_caller(call)
        self._finish(call, outcome)

    def _agent_leg_cut(self, call: QueueCall) -> None:
        """AMI Hangup of the agent's channel: app_queue reports Reason `caller`, and with
        option `c` the caller goes on in the dialplan (QUEUESTATUS=CONTINUE) first."""
        agent, member = self._connected_agent(call)
        emit, caller, bridge = self.core.emit, call.caller, call.bridge
        assert bridge is not None
        self.core.emit_rtp_qos(agent, caller)
        self._clear_bridge_peers(agent, caller)
        self._leave_bridge(bridge, agent)
        self._leave_bridge(bridge, caller)
        emit(bridge_event("BridgeDestroy", bridge))
        self._call_times(call)
        if self.plan.continues:
            self.dialplan.exit_event(call, "CONTINUE")
            self.dialplan.hang_up_line(call)
        else:
            emit(chan_event("SoftHangupRequest", caller, ("Cause", "16")))
        self._complete(call, "caller")
        emit(hangup(agent, 16))
        self.core.drop_channel(agent)
        self._release_member(call, member)
        self._caller_leaves(call)

    def _stop_ringing(self, call: QueueCall) -> None:
        """The caller leaves while an agent rings: that ring is cancelled (cause 0)."""
        ringing, emit = call.ringing, self.core.emit
        call.ringing = None
        if call.task is not None:
            call.task.cancel()
        if ringing is None:
            return
        ringing.end = self._now()
        for _ in range(2):
            emit(dial_event("DialEnd", call.caller, ringing.agent, ("DialStatus", "CANCEL")))
        emit(hangup(ringing.agent, 0))
        self.core.drop_channel(ringing.agent)
        emit(device_state(ringing.member.interface, NOT_INUSE))
        self.core.set_member_state(ringing.member.interface, NOT_INUSE)

    def _abandon_event(self, call: QueueCall, wait: int, logged: str = "ABANDON") -> Fields:
        """QueueCallerAbandon, recorded in queue_log as `logged` (a timeout is its own row)."""
        position = self.waiting[call.queue.name].index(call) + 1
        self._log(call, "NONE", logged, position, call.original_position, wait)
        return chan_event(
            "QueueCallerAbandon",
            call.caller,
            ("Queue", call.queue.name),
            ("Position", str(position)),
            ("OriginalPosition", str(call.original_position)),
            ("HoldTime", str(wait)),
            privilege="agent,all",
        )

    def _wait_times(self, call: QueueCall, wait: int) -> None:
        """The VarSets app_queue sets on a caller who leaves the queue unanswered."""
        caller, emit = call.caller, self.core.emit
        emit(varset(caller, "QUEUEWAIT", str(wait)))
        emit(varset(caller, "QUEUEWAIT_MS", str(wait * 1000)))
        dialed = self._now() - caller.created
        emit(varset(caller, "DIALEDTIME", str(int(dialed))))
        emit(varset(caller, "DIALEDTIME_MS", str(int(dialed * 1000))))
        emit(varset(caller, "ANSWEREDTIME", "0"))
        emit(varset(caller, "ANSWEREDTIME_MS", "0"))

    # a PBX restart --------------------------------------------------------------------
    async def shutdown(self) -> None:
        """`core restart now`: Asterisk soft-hangs-up every channel (SoftHangupRequest Cause
        4 on both legs of a call, before the AgentComplete), then the calls end."""
        await self._tasks.close()
        for call in [c for c in self.calls if c.state != "ended"]:
            for ch in (call.caller, call.agent if call.state == "connected" else None):
                if ch is not None and ch.uniqueid in self.core.channels:
                    self.core.emit(chan_event("SoftHangupRequest", ch, ("Cause", "4")))
            if call.state == "queued":
                self._stop_ringing(call)
                self._cut(call, self._abandon_event(call, whole_seconds(call.joined, self._now())))
            elif call.state == "connected":
                self._cut_connected(call)
            elif call.caller.uniqueid in self.core.channels:
                self._cut(call, None)
        self.waiting.clear()

    def _cut_connected(self, call: QueueCall) -> None:
        agent, member = self._connected_agent(call)
        bridge = call.bridge
        assert bridge is not None
        self._complete(call, "caller")
        self._clear_bridge_peers(call.caller, agent)
        self._leave_bridge(bridge, call.caller)
        self._leave_bridge(bridge, agent)
        self.core.emit(bridge_event("BridgeDestroy", bridge))
        self.core.emit(hangup(call.caller, 16))
        self._drop_caller(call)
        self.core.emit(hangup(agent, 16))
        self.core.drop_channel(agent)
        for m in self.core.members_of(member.interface):
            m.last_call, m.in_call = int(self._now()), False
        self._device_idle(member.interface)
        call.state, call.outcome = "ended", "shutdown"
        call.ended.set()

    def _cut(self, call: QueueCall, abandon: Fields | None) -> None:
        if abandon is not None:
            self.core.emit(abandon)
            self._leave_queue(call)
        self.core.emit(hangup(call.caller, 16))
        self._drop_caller(call)
        call.state, call.outcome, call.in_dialplan = "ended", "shutdown", False
        call.ended.set()

    # helpers ------------------------------------------------------------------------
    def _log(self, call: QueueCall, agent: str, event: str, *data: object) -> None:
        self.core.queue_log.write(call.queue.name, call.uniqueid, agent, event, *data)

    def _clear_bridge_peers(self, first: Channel, second: Channel) -> None:
        for ch in (first, second):
            self.core.emit(varset(ch, "BRIDGEPEER", ""))
            self.core.emit(varset(ch, "BRIDGEPVTCALLID", ""))

    def _leave_bridge(self, bridge: Bridge, ch: Channel) -> None:
        bridge.channels.remove(ch)
        ch.bridge = None
        self.core.emit(bridge_event("BridgeLeave", bridge, ch))

    def _call_times(self, call: QueueCall) -> None:
        assert call.connected_at is not None
        now, caller = self._now(), call.caller
        answered, dialed = now - call.connected_at, now - caller.created
        self.core.emit(varset(caller, "ANSWEREDTIME", str(int(answered))))
        self.core.emit(varset(caller, "ANSWEREDTIME_MS", str(int(answered * 1000))))
        self.core.emit(varset(caller, "DIALEDTIME", str(int(dialed))))
        self.core.emit(varset(caller, "DIALEDTIME_MS", str(int(dialed * 1000))))

    def _drop_caller(self, call: QueueCall) -> None:
        self.core.drop_channel(call.caller)
        if not self.core.endpoint_busy(self.trunk):
            self.core.emit(device_state(self.trunk, UNAVAILABLE))

    def _emit_cdrs(self, call: QueueCall) -> None:
        now, caller = self._now(), call.caller
        if not call.attempts:
            self.core.emit(
                cdr(
                    caller,
                    "",
                    last_app="Queue",
                    last_data=call.queue.name,
                    start=caller.created,
                    answer=caller.answered,
                    end=now,
                    disposition="ANSWERED",
                )
            )
        for i, attempt in enumerate(call.attempts):
            start = caller.created if i == 0 else attempt.start
            self.core.emit(
                cdr(
                    caller,
                    attempt.agent.name,
                    last_app="Queue",
                    last_data=call.queue.name,
                    start=start,
                    answer=caller.answered if i == 0 else start,
                    end=attempt.end if attempt.end is not None and not attempt.answered else now,
                    disposition="ANSWERED" if attempt.answered else "NO ANSWER",
                )
            )

    def _finish(self, call: QueueCall, outcome: str) -> None:
        call.state, call.outcome, call.in_dialplan = "ended", outcome, False
        for task in (call.recheck, call.timer):
            if task is not None:
                task.cancel()
        call.ended.set()
        trim(self.calls, lambda c: c.state == "ended")
        log.info("sim_call_ended", uniqueid=call.uniqueid, outcome=outcome)
        for queue in self.core.queues.values():
            self.dispatch(queue)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return self._tasks.spawn(coro)

    async def close(self) -> None:
        await self._tasks.close()


def whole_seconds(start: float, end: float) -> int:
    """Asterisk's `time(NULL) - start`: a difference of epoch seconds truncated first."""
    return int(end) - int(start)

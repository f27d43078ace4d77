"""AMI BlindTransfer and Redirect, and the `[from-agents]` targets transfers reach.

A transferred channel runs the shipped `[from-agents]` context (deploy/asterisk/
extensions.conf): 210X dials another agent outside the queue, 1169 goes back into the queue
(a new QueueCallerJoin with the same Uniqueid), `0X.` dials out over the trunk presented as
the hotline, anything else is `Hangup(21)`. Event order as blind-transfer-ami.txt.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from pbxsim.ami_server import AmiServer, AmiSession
from pbxsim.core import PbxCore, agent_number
from pbxsim.model import UNKNOWN, Bridge, Channel, clean, trim
from pbxsim.phones import AgentPhone
from pbxsim.queue_calls import QueueEngine
from pbxsim.tasks import BackgroundTasks
from pbxsim.templates import bridge_event, chan_event, dial_event, hangup, newexten, varset
from telephony.ami.protocol import AmiMessage

log = structlog.get_logger()

AGENT_EXTEN = re.compile(r"^210(\d)$")
OUTSIDE = re.compile(r"^0\d+$")
DIAL_TIMEOUT = 30.0
PEER_HANGUP_LAG = 0.05
CALLING_PRES = "0 (Presentation Allowed, Not Screened)"
HOTLINE_CALLER_ID = ("1169", "Hotline")


@dataclass
class DirectCall:
    """A channel that dialled one target from `[from-agents]` (no queue involved)."""

    origin: Channel
    dial_string: str
    target: Channel | None = None
    bridge: Bridge | None = None
    outcome: str = "ringing"
    gone: bool = False
    # Told when the call is over (an attended transfer's consultation waits for it).
    on_end: Callable[[DirectCall], None] | None = None

    def ended(self) -> None:
        self.gone = True
        if self.on_end is not None:
            self.on_end(self)


class TransferActions:
    """BlindTransfer and Redirect over AMI, and the calls `[from-agents]` starts."""

    def __init__(
        self,
        core: PbxCore,
        engine: QueueEngine,
        *,
        outside_phone: AgentPhone | None = None,
    ) -> None:
        self.core = core
        self.engine = engine
        self.outside_phone = outside_phone or AgentPhone.answers_after(2.0)
        self.calls: list[DirectCall] = []
        self._tasks = BackgroundTasks("transfers")
        core.hangup_hooks.append(self._hangup_channel)

    def register(self, server: AmiServer) -> None:
        server.register("BlindTransfer", self.blind_transfer)
        server.register("Redirect", self.redirect)

    # actions --------------------------------------------------------------------------
    async def blind_transfer(self, session: AmiSession, request: AmiMessage) -> None:
        ch = self.core.find_channel(request.get("Channel") or "")
        if ch is None:
            session.error(request, "Channel specified does not exist")
            return
        exten = clean(request.get("Exten") or "")
        if not exten:
            session.error(request, "No extension specified")
            return
        call = self.engine.connected_call(ch)
        if call is None:
            session.error(request, "Transfer failed")
            return
        session.respond(request, "Success", ("Message", "Transfer succeeded"))
        # The target runs in the transferer's context unless the action names one.
        context = clean(request.get("Context") or ch.context)
        moved = self.engine.hand_over(call, ch, exten, context)
        self.route(moved, exten, call.queue.name)
        self.engine.let_go(call, ch)

    async def redirect(self, session: AmiSession, request: AmiMessage) -> None:
        ch = self.core.find_channel(request.get("Channel") or "")
        if ch is None:
            session.error(request, "Channel specified does not exist")
            return
        context, exten = request.get("Context"), request.get("Exten")
        call = self.engine.waiting_call(ch)
        if not context or not exten or call is None:
            session.error(request, "Redirect failed")
            return
        session.respond(request, "Success", ("Message", "Redirect successful"))
        self.engine.redirect(call, context, exten)

    # [from-agents] --------------------------------------------------------------------
    def route(self, ch: Channel, exten: str, queue: str | None = None) -> None:
        """Run `exten` of `[from-agents]` on a transferred or originated channel."""
        agent = AGENT_EXTEN.match(exten)
        if exten == self.engine.exten and ch.endpoint == self.engine.trunk:
            self.engine.requeue_channel(ch, queue or next(iter(self.core.queues)))
        elif agent is not None:
            self.dial_agent(ch, agent.group(1))
        elif OUTSIDE.match(exten):
            self.step(
                ch, "NoOp", f'Outbound call to {exten} by "{ch.caller_name}" <{ch.caller_num}>'
            )
            self.step(ch, "Set", 'CALLERID(all)="Hotline" <1169>')
            ch.caller_num, ch.caller_name = HOTLINE_CALLER_ID
            self.core.emit(chan_event("NewCallerid", ch, ("CID-CallingPres", CALLING_PRES)))
            self._dial(ch, self.engine.trunk, f"PJSIP/{exten}@trunk,30")
        else:
            self.step(ch, "Hangup", "21")
            self.core.emit(chan_event("SoftHangupRequest", ch, ("Cause", "21")))
            self._end_channel(ch, 21)

    def dial_agent(
        self, origin: Channel, digit: str, on_end: Callable[[DirectCall], None] | None = None
    ) -> DirectCall:
        """`_210X`: Dial(PJSIP/agent10X,30)."""
        endpoint = f"PJSIP/agent10{digit}"
        return self._dial(origin, endpoint, f"{endpoint},30", on_end)

    def _dial(
        self,
        origin: Channel,
        endpoint: str,
        dial_data: str,
        on_end: Callable[[DirectCall], None] | None = None,
    ) -> DirectCall:
        self.step(origin, "Dial", dial_data)
        call = DirectCall(origin, dial_data.rsplit(",", 1)[0], on_end=on_end)
        self.calls.append(call)
        trim(self.calls, lambda c: c.gone)
        self._tasks.spawn(self._ring(call, endpoint))
        return call

    async def _ring(self, call: DirectCall, endpoint: str) -> None:
        emit, origin = self.core.emit, call.origin
        outside = endpoint == self.engine.trunk
        number = call.dial_string.split("/", 1)[-1].split("@", 1)[0]
        target = self.core.new_channel(
            endpoint,
            caller_num=UNKNOWN if outside else agent_number(endpoint),
            caller_name=UNKNOWN if outside else f"Agent {agent_number(endpoint)}",
            context="from-trunk" if outside else "from-agents",
            exten="s",
            linkedid=origin.linkedid,
        )
        call.target = target
        emit(chan_event("Newchannel", target))
        emit(varset(target, "DIALEDPEERNUMBER", number if outside else endpoint.split("/")[-1]))
        target.exten, target.application = origin.exten, "AppDial"
        target.connected_num, target.connected_name = origin.caller_num, origin.caller_name
        emit(newexten(target, "AppDial", "(Outgoing Line)"))
        if outside:
            # The trunk leg presents whom the agent's phone was told it calls.
            target.caller_num, target.caller_name = origin.connected_num, origin.connected_name
            emit(chan_event("NewCallerid", target, ("CID-CallingPres", CALLING_PRES)))
        emit(chan_event("NewConnectedLine", target))
        emit(dial_event("DialBegin", origin, target, ("DialString", call.dial_string)))
        origin.connected_num, origin.connected_name = target.caller_num, target.caller_name
        emit(chan_event("NewConnectedLine", origin))
        target.state = 5
        emit(chan_event("Newstate", target))
        emit(dial_event("DialState", origin, target, ("DialStatus", "RINGING")))
        phone = (
            self.outside_phone
            if outside
            else self.engine.phones.get(endpoint, self.engine.default_phone)
        )
        ring = phone.answer_after if phone.answer_after is not None else DIAL_TIMEOUT
        await self.core.clock.sleep(min(ring, DIAL_TIMEOUT))
        if call.gone:
            return
        if ring >= DIAL_TIMEOUT:
            emit(dial_event("DialEnd", origin, target, ("DialStatus", "NOANSWER")))
            emit(hangup(target, 19))
            self.core.drop_channel(target)
            call.outcome = "noanswer"
            self._keep_caller(call)
            return
        self._connect(call, target)

    def _connect(self, call: DirectCall, target: Channel) -> None:
        emit, origin = self.core.emit, call.origin
        target.state, target.answered = 6, self.core.clock.now()
        emit(chan_event("Newstate", target))
        emit(dial_event("DialEnd", origin, target, ("DialStatus", "ANSWER")))
        bridge = Bridge(self.core.ids.bridge_id())
        emit(bridge_event("BridgeCreate", bridge))
        target.exten = ""
        emit(newexten(target, "AppDial", "(Outgoing Line)"))
        for ch in (target, origin):
            bridge.channels.append(ch)
            ch.bridge = bridge
            emit(bridge_event("BridgeEnter", bridge, ch))
        emit(varset(origin, "BLINDTRANSFER", ""))
        origin_pvt, target_pvt = str(uuid.uuid4()), f"1-{secrets.randbelow(99999)}@127.0.0.1"
        for _ in range(3):
            emit(varset(origin, "BRIDGEPEER", target.name))
            emit(varset(origin, "BRIDGEPVTCALLID", origin_pvt))
            emit(varset(target, "BRIDGEPEER", origin.name))
            emit(varset(target, "BRIDGEPVTCALLID", target_pvt))
        call.bridge, call.outcome = bridge, "answered"
        log.info("sim_direct_call_connected", origin=origin.name, target=target.name)

    def _keep_caller(self, call: DirectCall) -> None:
        """`[hotline-keep-caller]`: a citizen nobody answered goes back into the queue."""
        origin = call.origin
        self.step(origin, "Goto", "hotline-keep-caller,s,1")
        if origin.endpoint == self.engine.trunk:
            self.engine.requeue_channel(origin, next(iter(self.core.queues)))
            call.gone = True
            return
        self.step(origin, "Hangup", "")
        self.core.emit(chan_event("SoftHangupRequest", origin, ("Cause", "16")))
        self._end_channel(origin, 16)
        call.ended()

    # hanging up -----------------------------------------------------------------------
    def _hangup_channel(self, ch: Channel) -> bool:
        for call in self.calls:
            if call.gone or ch not in (call.origin, call.target):
                continue
            self.hang_up(call, ch)
            return True
        return False

    def hang_up(self, call: DirectCall, side: Channel) -> None:
        """One side of a direct call hangs up: the bridge ends and so does the other side."""
        emit, other = self.core.emit, call.target if side is call.origin else call.origin
        call.gone = True
        bridge = call.bridge
        if bridge is None:
            if call.target is not None:
                emit(dial_event("DialEnd", call.origin, call.target, ("DialStatus", "CANCEL")))
                self._end_channel(call.target, 0)
            self._end_channel(call.origin, 16)
            call.ended()
            return
        self.core.emit_rtp_qos(side, other)
        emit(chan_event("HangupRequest", side, ("Cause", "16")))
        for ch in (side, other):
            if ch is not None:
                emit(varset(ch, "BRIDGEPEER", ""))
                emit(varset(ch, "BRIDGEPVTCALLID", ""))
        for ch in (side, other):
            if ch is not None and ch in bridge.channels:
                bridge.channels.remove(ch)
                ch.bridge = None
                emit(bridge_event("BridgeLeave", bridge, ch))
        emit(bridge_event("BridgeDestroy", bridge))
        self._end_channel(side, 16)
        call.outcome = "ended"
        if other is call.origin:
            # Dial() returned: the dialplan goes on to its Hangup().
            self.step(other, "Goto", "hotline-keep-caller,s,1")
            self.step(other, "Hangup", "")
            self.core.emit(chan_event("SoftHangupRequest", other, ("Cause", "16")))
        if other is not None:
            self._tasks.spawn(self._end_later(other))
        call.ended()

    async def _end_later(self, ch: Channel) -> None:
        """The bridged peer is hung up a moment later: an AMI Hangup of it in between still
        finds it (blind-transfer-ami.txt: both Hangups answered `Channel Hungup`)."""
        await self.core.clock.sleep(PEER_HANGUP_LAG)
        self._end_channel(ch, 16)

    async def shutdown(self) -> None:
        """`core restart now` for the calls outside the queue: both legs soft-hung-up."""
        await self._tasks.close()
        for call in [c for c in self.calls if not c.gone]:
            legs = [ch for ch in (call.origin, call.target) if ch is not None]
            for ch in legs:
                self.core.emit(chan_event("SoftHangupRequest", ch, ("Cause", "4")))
            if call.bridge is not None:
                for ch in legs:
                    if ch in call.bridge.channels:
                        call.bridge.channels.remove(ch)
                        ch.bridge = None
                        self.core.emit(bridge_event("BridgeLeave", call.bridge, ch))
                self.core.emit(bridge_event("BridgeDestroy", call.bridge))
            for ch in legs:
                if ch.uniqueid in self.core.channels:
                    self._end_channel(ch, 16)
            call.gone, call.outcome = True, "shutdown"

    def _end_channel(self, ch: Channel, cause: int) -> None:
        self.core.emit(hangup(ch, cause))
        self.core.drop_channel(ch)

    def step(self, ch: Channel, application: str, data: str) -> None:
        ch.priority += 1
        ch.application, ch.application_data = application, data
        self.core.emit(newexten(ch, application, data))

    async def close(self) -> None:
        await self._tasks.close()

"""AMI Atxfer of a queue call, as attended-transfer-ami.txt shows it.

The agent's feature code and the target's digits arrive as DTMF, the caller is put on hold
(MOH), and after features.conf's transferdigittimeout (3 s: `_X.` could still match more
digits) the target is dialled through `Local/<exten>@from-agents`. The agent hanging up
during the consultation completes the transfer (AttendedTransfer, AgentComplete Reason
transfer: the caller now talks to the target); the target hanging up, or not answering,
cancels it and the agent is back with the caller.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

from pbxsim.ami_server import AmiServer, AmiSession
from pbxsim.core import PbxCore
from pbxsim.model import Bridge, Channel
from pbxsim.queue_calls import QueueCall, QueueEngine
from pbxsim.tasks import BackgroundTasks
from pbxsim.templates import (
    bridge_block,
    bridge_event,
    chan_event,
    channel_block,
    event,
    hangup,
)
from pbxsim.transfers import AGENT_EXTEN, DirectCall, TransferActions
from telephony.ami.protocol import AmiMessage

DIGIT_TIMEOUT = 3.0
Phase = Literal["dialling", "consulting", "completed", "cancelled", "ended"]


@dataclass
class Consultation:
    """One attended transfer: the queue call, the Local pair and the consulted call."""

    call: QueueCall
    agent: Channel
    exten: str
    orig: Bridge
    consult: Bridge
    local1: Channel | None = None
    local2: Channel | None = None
    target: DirectCall | None = None
    phase: Phase = "dialling"
    legs: list[Channel] = field(default_factory=list)


class AttendedTransfers:
    """Runs Atxfer for TransferActions and owns the channels of a completed transfer."""

    def __init__(self, core: PbxCore, engine: QueueEngine, transfers: TransferActions) -> None:
        self.core = core
        self.engine = engine
        self.transfers = transfers
        self.active: list[Consultation] = []
        self._locals = itertools.count()
        self._tasks = BackgroundTasks("attended")
        # First in line: the agent's channel is the queue call's until the consultation ends.
        core.hangup_hooks.insert(0, self._hangup_channel)

    def register(self, server: AmiServer) -> None:
        server.register("Atxfer", self.atxfer)

    async def atxfer(self, session: AmiSession, request: AmiMessage) -> None:
        ch = self.core.find_channel(request.get("Channel") or "")
        if ch is None:
            session.error(request, "No such channel")
            return
        # The feature map is the one the channel was created with: a reload does not help.
        if ch.atxfer_code is None:
            session.error(request, "No attended transfer feature code found")
            return
        exten, call = request.get("Exten") or "", self.engine.connected_call(ch)
        if not exten or call is None or ch is not call.agent or call.consulting:
            session.error(request, "Atxfer failed")
            return
        session.respond(request, "Success", ("Message", "Atxfer successfully queued"))
        self.start(call, ch, exten, ch.atxfer_code)

    def start(self, call: QueueCall, agent: Channel, exten: str, code: str) -> Consultation:
        bridge = call.bridge
        assert bridge is not None
        self._dtmf(agent, code)
        self.engine.hold(call, music_class=None)
        self._dtmf(agent, exten)
        call.consulting = True
        consultation = Consultation(call, agent, exten, bridge, Bridge(self.core.ids.bridge_id()))
        self.active.append(consultation)
        self._tasks.spawn(self._dial_later(consultation))
        return consultation

    def _dtmf(self, ch: Channel, digits: str) -> None:
        for digit in digits:
            self.core.emit(
                chan_event(
                    "DTMFEnd",
                    ch,
                    ("Digit", digit),
                    ("DurationMs", "100"),
                    ("Direction", "Received"),
                    privilege="dtmf,all",
                )
            )

    async def _dial_later(self, c: Consultation) -> None:
        await self.core.clock.sleep(DIGIT_TIMEOUT)
        if c.phase != "dialling":
            return
        emit, agent = self.core.emit, c.agent
        suffix = f"{next(self._locals):08x}"
        c.local1, c.local2 = (
            self.core.new_channel(
                f"Local/{c.exten}@from-agents-{suffix};{side}",
                caller_num=agent.caller_num,
                caller_name=agent.caller_name,
                context="from-agents",
                exten=c.exten,
                linkedid=agent.linkedid,
            )
            for side in (1, 2)
        )
        for local in (c.local1, c.local2):
            local.name = local.name.rsplit("-", 1)[0]  # Local/... carries its own suffix
            emit(chan_event("Newchannel", local))
        emit(bridge_event("BridgeCreate", c.consult))
        c.local2.priority = 0
        self.transfers.step(
            c.local2,
            "NoOp",
            f'Agent call to {c.exten} from "{agent.caller_name}" <{agent.caller_num}>',
        )
        self._enter(c.consult, c.local1)
        self._move(agent, c.orig, c.consult)
        c.phase = "consulting"
        digit = AGENT_EXTEN.match(c.exten)
        if digit is None:
            self._cancel(c)
            return
        c.target = self.transfers.dial_agent(c.local2, digit.group(1), lambda _: self._cancel(c))

    # the agent hangs up: complete -----------------------------------------------------------
    def _complete(self, c: Consultation) -> None:
        emit, agent, caller = self.core.emit, c.agent, c.call.caller
        assert c.local1 is not None
        c.phase = "completed"
        emit(chan_event("HangupRequest", agent))
        self._leave(c.consult, agent)
        self._move(c.local1, c.consult, c.orig)
        emit(chan_event("MusicOnHoldStop", caller))
        emit(
            event(
                "AttendedTransfer",
                "call,all",
                [("Result", "Success")],
                channel_block(agent, "OrigTransferer"),
                bridge_block(c.orig, "Orig"),
                channel_block(agent, "SecondTransferer"),
                bridge_block(c.consult, "Second"),
                channel_block(caller, "Transferee"),
                [
                    ("IsExternal", "No"),
                    ("DestType", "Bridge"),
                    ("DestBridgeUniqueid", c.orig.uniqueid),
                ],
            )
        )
        self.engine.let_go_attended(c.call, c.orig.uniqueid)
        emit(bridge_event("BridgeDestroy", c.consult))
        c.legs = [caller, c.local1]

    # the target does not take it: cancel ----------------------------------------------------
    def _cancel(self, c: Consultation) -> None:
        if c.phase == "completed":
            self._end_caller_side(c, None)
            return
        if c.phase not in ("dialling", "consulting"):
            return
        c.phase, c.call.consulting = "cancelled", False
        for local in (c.local2, c.local1):
            if local is not None and local.uniqueid in self.core.channels:
                if local in c.consult.channels:
                    self._leave(c.consult, local)
                self.core.emit(hangup(local, 16))
                self.core.drop_channel(local)
        if c.agent in c.consult.channels:
            self._move(c.agent, c.consult, c.orig)
            self.core.emit(bridge_event("BridgeDestroy", c.consult))
        self.engine.unhold(c.call)
        self.active.remove(c)

    # after the transfer: the caller talks to the target through the Local pair --------------
    def _end_caller_side(self, c: Consultation, first: Channel | None) -> None:
        """The transferred call ends: from the caller, or from the target's side."""
        if c.phase == "ended":
            return
        c.phase = "ended"
        emit = self.core.emit
        if first is not None:
            emit(chan_event("HangupRequest", first))
        for ch in c.legs:
            if ch in c.orig.channels:
                self._leave(c.orig, ch)
        emit(bridge_event("BridgeDestroy", c.orig))
        for ch in c.legs:
            if ch.uniqueid in self.core.channels:
                emit(hangup(ch, 16))
                self.core.drop_channel(ch)
        if c.target is not None and not c.target.gone and c.local2 is not None:
            self.core.hang_up(c.local2)
        self.active.remove(c)

    def _hangup_channel(self, ch: Channel) -> bool:
        for c in self.active:
            if c.phase == "consulting" and ch in (c.local1, c.local2):
                # The agent's "back to the caller": the consultation's leg is hung up.
                self._cancel(c)
                return True
            if c.phase in ("dialling", "consulting") and ch is c.agent:
                if c.phase == "dialling":
                    # Nobody to hand over to yet: the queue call just ends.
                    c.phase, c.call.consulting = "cancelled", False
                    self.active.remove(c)
                    return False
                self._complete(c)
                return True
            if c.phase == "completed" and ch in c.legs:
                self._end_caller_side(c, ch)
                return True
        return False

    # bridges -----------------------------------------------------------------------------------
    def _enter(self, bridge: Bridge, ch: Channel) -> None:
        bridge.channels.append(ch)
        ch.bridge = bridge
        self.core.emit(bridge_event("BridgeEnter", bridge, ch))

    def _leave(self, bridge: Bridge, ch: Channel) -> None:
        bridge.channels.remove(ch)
        ch.bridge = None
        self.core.emit(bridge_event("BridgeLeave", bridge, ch))

    def _move(self, ch: Channel, source: Bridge, dest: Bridge) -> None:
        self._leave(source, ch)
        self._enter(dest, ch)

    async def close(self) -> None:
        await self._tasks.close()

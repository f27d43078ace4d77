"""AMI BlindTransfer and Atxfer, answered as Asterisk 22 answered them in the captures
blind-transfer-ami.txt and attended-transfer-ami.txt.

Both take the TRANSFERER's channel: the agent's. An attended transfer dials the target as a
Local channel pair; the agent hanging up completes it (AttendedTransfer, AgentComplete
Reason transfer), hanging up the consultation leg cancels it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pbxsim.ami_server import AmiServer, AmiSession
from pbxsim.core import PbxCore
from pbxsim.model import Channel, clean
from pbxsim.queue_calls import QueueCall, QueueEngine
from pbxsim.templates import bridge_block, chan_event, channel_block, event, hangup
from telephony.ami.protocol import AmiMessage

UP = 6


@dataclass
class _Consultation:
    call: QueueCall
    leg: Channel
    exten: str
    context: str


class TransferActions:
    """The two transfer actions, and the consultations attended transfers leave open."""

    def __init__(self, core: PbxCore, engine: QueueEngine, *, atxfer_feature: bool = True) -> None:
        self.core = core
        self.engine = engine
        # Asterisk has no atxfer feature code by default: the action is then refused.
        self.atxfer_feature = atxfer_feature
        self._consulting: dict[str, _Consultation] = {}
        core.hangup_hooks.insert(0, self._hangup_channel)

    def register(self, server: AmiServer) -> None:
        server.register("BlindTransfer", self.blind_transfer)
        server.register("Atxfer", self.atxfer)

    def _agents_call(
        self, session: AmiSession, request: AmiMessage
    ) -> tuple[QueueCall, str, str] | None:
        """The connected call whose agent channel the request names, or an error sent."""
        channel = self.core.find_channel(request.get("Channel") or "")
        if channel is None:
            session.error(request, "Channel specified does not exist")
            return None
        exten = request.get("Exten") or ""
        if not exten:
            session.error(request, "No extension specified")
            return None
        call = next(
            (c for c in self.engine.calls if c.state == "connected" and c.agent is channel), None
        )
        if call is None:
            session.error(request, "Transfer failed")
            return None
        return call, clean(exten), clean(request.get("Context") or channel.context)

    async def blind_transfer(self, session: AmiSession, request: AmiMessage) -> None:
        found = self._agents_call(session, request)
        if found is None:
            return
        session.respond(request, "Success", ("Message", "Transfer succeeded"))
        self.engine.transfer(*found)

    async def atxfer(self, session: AmiSession, request: AmiMessage) -> None:
        if not self.atxfer_feature:
            session.error(request, "No attended transfer feature code found")
            return
        found = self._agents_call(session, request)
        if found is None:
            return
        call, exten, context = found
        assert call.agent is not None
        session.respond(request, "Success", ("Message", "Atxfer successfully queued"))
        leg = self.core.new_channel(
            f"Local/{exten}@{context}",
            caller_num=call.agent.caller_num,
            caller_name=call.agent.caller_name,
            context=context,
            exten=exten,
            state=UP,
        )
        leg.name += ";1"
        self.core.emit(chan_event("Newchannel", leg))
        self._consulting[call.agent.uniqueid] = _Consultation(call, leg, exten, context)

    def _hangup_channel(self, channel: Channel) -> bool:
        """A Hangup of a consultation leg cancels it; of its agent, completes the transfer."""
        for agent_id, consultation in list(self._consulting.items()):
            if channel is consultation.leg:
                del self._consulting[agent_id]
                self._end_leg(consultation)
                return True
            if channel.uniqueid == agent_id:
                del self._consulting[agent_id]
                self._complete(consultation)
                return True
        return False

    def _end_leg(self, consultation: _Consultation) -> None:
        self.core.emit(hangup(consultation.leg, 16))
        self.core.drop_channel(consultation.leg)

    def _complete(self, consultation: _Consultation) -> None:
        call, leg = consultation.call, consultation.leg
        assert call.agent is not None and call.bridge is not None
        self.core.emit(
            event(
                "AttendedTransfer",
                "call,all",
                [("Result", "Success")],
                channel_block(call.agent, "OrigTransferer"),
                bridge_block(call.bridge),
                channel_block(leg, "SecondTransferer"),
                channel_block(call.caller, "Transferee"),
                [("DestType", "Bridge"), ("TransferTargetCallerIDNum", consultation.exten)],
            )
        )
        self._end_leg(consultation)
        self.engine.hand_over(call, consultation.exten, consultation.context)

"""Call control from the agent's panel: hang up, blind or attended transfer, call a citizen
back, and the queue overflow's callback requests.

Only the agent whose desk holds a talking call may act on it, and only through the channel
the PBX gave that agent's phone for it (BlindTransfer and Atxfer take the transferer's
channel). The PBX has the last word: its refusals come back as telephony errors whose
`code` the panel shows translated. Hold stays on the phone: no command here holds a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog

from agent_ui.call_control_store import CallControlStore, OutboundCall
from agent_ui.panel_service import Agent, PanelService
from calls.numbers import normalise
from calls.recordings import Recorder
from calls.tracker import CallTracker
from config.settings import CallControlSettings
from runtime.clock import Clock
from telephony.commands import CallControl, OriginateResult
from telephony.errors import PbxUnavailable
from telephony.events import (
    CallAnswered,
    CallbackRequested,
    CallEnded,
    OutboundCallEnded,
    PbxSnapshot,
    TelephonyEvent,
)

log = structlog.get_logger()

TRANSFER_KINDS = ("agent", "queue", "outside")

# Numbers agents may dial out: Thai national numbers (the dialplan's `_0X.` trunk route).
_DIALABLE = re.compile(r"0[0-9]{8,9}")
_TRAILING_DIGITS = re.compile(r"([0-9]+)$")


class CallControlRefused(Exception):
    """The panel refuses a call-control request before the PBX is asked."""

    code = "call_control_refused"
    status = 409


class NotYourCall(CallControlRefused):
    """The call is not the one talking on this agent's phone."""

    code = "not_your_call"
    status = 403


class InvalidNumber(CallControlRefused):
    """Not a number the hotline may dial (digits only, a Thai national number)."""

    code = "invalid_number"
    status = 422


class UnknownTarget(CallControlRefused):
    """A transfer to an agent or queue this agent cannot reach."""

    code = "unknown_target"
    status = 422


class NoPhone(CallControlRefused):
    """The agent has no phone bound, so nothing can ring first."""

    code = "no_phone"


class NotRecording(CallControlRefused):
    """The call has no recording running (recording off, refused by the PBX, or over)."""

    code = "not_recording"


class CallbackGone(CallControlRefused):
    """The callback request is already done (or never existed)."""

    code = "callback_done"


class NotAnswered(CallControlRefused):
    """The agent's phone did not take the click-to-call (`outcome` as Originate said)."""

    status = 502

    def __init__(self, outcome: str) -> None:
        super().__init__(f"the agent's phone: {outcome}")
        self.code = f"originate_{outcome}"


def dialable(raw: str) -> str | None:
    """The number in the form the trunk dials, or None when it is not one we may dial."""
    number = normalise(raw[:40])
    return number if number is not None and _DIALABLE.fullmatch(number) else None


def agent_extension(interface: str, prefix: str) -> str | None:
    """An agent's extension in the shipped dialplan: PJSIP/agent102 -> 2102 (`_210X`)."""
    found = _TRAILING_DIGITS.search(interface)
    return prefix + found.group(1) if found else None


@dataclass(frozen=True, slots=True)
class AgentLeg:
    """The agent's side of an answered queue call: the channel commands act on."""

    pbx: str
    interface: str
    channel: str


class CallLegs:
    """A telephony subscriber: the agent channel of each answered queue call, and the
    overflow's callback requests, handed to the service once it runs."""

    def __init__(self) -> None:
        self._legs: dict[str, AgentLeg] = {}
        self._started = asyncio.Event()
        self._service: CallControlService | None = None

    def leg(self, call_key: str) -> AgentLeg | None:
        return self._legs.get(call_key)

    async def __call__(self, event: TelephonyEvent) -> None:
        match event:
            case CallAnswered() if event.agent_channel:
                self._legs[event.call_key] = AgentLeg(
                    event.pbx, event.interface, event.agent_channel
                )
            case CallEnded():
                self._legs.pop(event.call_key, None)
            case PbxSnapshot():
                live = {call.call_key for call in event.connected}
                for call_key, leg in list(self._legs.items()):
                    if leg.pbx == event.pbx and call_key not in live:
                        del self._legs[call_key]
            case CallbackRequested():
                if service := await self._running_service():
                    await service.callback_requested(event)
            case OutboundCallEnded():
                if service := await self._running_service():
                    await service.outbound_ended(event)

    async def _running_service(self) -> CallControlService | None:
        """The service, once the panel runs (events of the first seconds wait for it)."""
        await self._started.wait()
        return self._service

    @contextlib.asynccontextmanager
    async def running(self, service: CallControlService) -> AsyncIterator[None]:
        self._service = service
        self._started.set()
        try:
            yield
        finally:
            self._service = None


class CallControlService:
    """What the panel's call-control buttons do."""

    def __init__(
        self,
        *,
        control: CallControl | None,
        panel: PanelService,
        legs: CallLegs,
        store: CallControlStore,
        tracker: CallTracker | None,
        clock: Clock,
        settings: CallControlSettings,
        recorder: Recorder | None = None,
    ) -> None:
        self._control = control
        self._recorder = recorder
        self._panel = panel
        self._legs = legs
        self.store = store
        self._tracker = tracker
        self._clock = clock
        self.settings = settings

    def _pbx(self) -> CallControl:
        if self._control is None:
            raise PbxUnavailable("", "no PBX configured")
        return self._control

    async def _leg_of(self, agent: Agent, call_key: str) -> AgentLeg:
        """The agent's own channel on the call talking on their desk, or NotYourCall."""
        call = (await self._panel.desk(agent.user_id)).current(call_key)
        leg = self._legs.leg(call_key)
        if (
            call is None
            or call.status not in ("talking", "held")
            or leg is None
            or (leg.pbx, leg.interface) != (agent.pbx, agent.interface)
        ):
            raise NotYourCall(call_key)
        return leg

    async def hang_up(self, agent: Agent, call_key: str) -> None:
        """End the agent's leg; the tracker stores the end as the agent's (AMI says caller)."""
        leg = await self._leg_of(agent, call_key)
        control = self._pbx()
        if self._tracker is not None:
            self._tracker.hangup_requested(leg.pbx, leg.channel, by="agent")
        await control.hangup(leg.pbx, leg.channel)
        log.info("call_hung_up_by_agent", agent=agent.user_id, call_key=call_key)

    async def mute_recording(self, agent: Agent, call_key: str) -> None:
        """Silence the recording while the caller reads an ID or card number."""
        await self._set_recording_muted(agent, call_key, muted=True)

    async def unmute_recording(self, agent: Agent, call_key: str) -> None:
        await self._set_recording_muted(agent, call_key, muted=False)

    async def _set_recording_muted(self, agent: Agent, call_key: str, *, muted: bool) -> None:
        await self._leg_of(agent, call_key)
        if self._recorder is None or not await self._recorder.mute(
            call_key, muted=muted, by=agent.user_id
        ):
            raise NotRecording(call_key)
        log.info("recording_muted", agent=agent.user_id, call_key=call_key, muted=muted)

    def extension(self, agent: Agent, kind: str, target: str, agents: dict[str, str]) -> str:
        """Where a transfer dials: `agents` maps the extensions of the agents one may reach."""
        if kind == "outside":
            number = dialable(target)
            if number is None:
                raise InvalidNumber(target[:40])
            return number
        if kind == "agent":
            if target not in agents:
                raise UnknownTarget(target[:40])
            return target
        if target not in agent.queues:
            raise UnknownTarget(target[:40])
        return self.settings.queue_extensions.get(target, target)

    async def transfer(self, agent: Agent, call_key: str, exten: str, *, attended: bool) -> None:
        leg = await self._leg_of(agent, call_key)
        control, context = self._pbx(), self.settings.agent_context
        if attended:
            await control.attended_transfer(leg.pbx, leg.channel, exten, context)
        else:
            await control.blind_transfer(leg.pbx, leg.channel, exten, context)
        log.info("call_transfer", agent=agent.user_id, call_key=call_key, attended=attended)

    async def complete_transfer(self, agent: Agent, call_key: str) -> None:
        """The agent leaves the consultation: Asterisk joins the caller and the target."""
        leg = await self._leg_of(agent, call_key)
        await self._pbx().hangup(leg.pbx, leg.channel)

    async def cancel_transfer(self, agent: Agent, call_key: str) -> None:
        leg = await self._leg_of(agent, call_key)
        await self._pbx().cancel_attended_transfer(leg.pbx, leg.channel)

    async def call_back(
        self,
        agent: Agent,
        raw_number: str,
        *,
        reference: str,
        case_id: int | None = None,
        request_id: int | None = None,
    ) -> OriginateResult:
        """Ring the agent's phone first, then the citizen (from-agents, <number>).

        Stored as an outbound call before the PBX is asked; a callback request is done once
        the agent's phone took the call and the citizen is being dialled.
        """
        if not agent.pbx or not agent.interface:
            raise NoPhone(str(agent.user_id))
        if request_id is not None:
            number = await self.store.request_number(request_id)
            if number is None:
                raise CallbackGone(str(request_id))
        else:
            number = dialable(raw_number)
            if number is None:
                raise InvalidNumber(raw_number[:40])
        control, now = self._pbx(), self._clock.now()
        channel_id = f"hotline-callback-{uuid.uuid4().hex}"
        outbound_id = await self.store.add_outbound(
            OutboundCall(agent.pbx, channel_id, agent.user_id, number, case_id, request_id, now)
        )
        try:
            result = await control.originate(
                agent.pbx,
                agent.interface,
                self.settings.agent_context,
                number,
                channel_id=channel_id,
                caller_id=self.settings.callback_caller_id,
                variables={"HOTLINE_CALLBACK": reference},
            )
        except Exception:
            await self.store.outbound_result(outbound_id, "refused", None)
            raise
        answered = self._clock.now() if result.outcome == "answered" else None
        await self.store.outbound_result(outbound_id, result.outcome, answered)
        log.info("call_back", agent=agent.user_id, outcome=result.outcome, case_id=case_id)
        if answered is None:
            raise NotAnswered(result.outcome)
        if request_id is not None:
            await self.store.mark_done(request_id, answered, agent.user_id)
        return result

    async def outbound_ended(self, event: OutboundCallEnded) -> None:
        """A click-to-call is over: its row gets the citizen's answer, the hang-up and the
        talk time; a failure is logged and costs that row only."""
        try:
            await self.store.outbound_ended(event)
        except Exception:
            log.exception("outbound_call_not_completed", pbx=event.pbx, uniqueid=event.uniqueid)

    async def callback_requested(self, event: CallbackRequested) -> None:
        """Keep the request as the caller's phone sent it; a failure costs that one only."""
        try:
            await self.store.add_request(
                pbx=event.pbx,
                queue=event.queue,
                call_key=event.call_key,
                raw_number=event.number[:80],
                number=dialable(event.number),
                at=event.at,
            )
        except Exception:
            log.exception("callback_request_not_stored", call_key=event.call_key)

"""Commands to the PBX (originate, queue membership, pause, hang-up) behind one Protocol.

The rest of hotline calls `CallControl` and gets domain errors back; it never sees an AMI
message. `AmiCallControl` implements it over the AMI links, one per PBX.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

import structlog

from telephony.ami.link import AmiLink
from telephony.ami.protocol import AmiMessage
from telephony.errors import (
    AlreadyAMember,
    CommandFailed,
    CommandTimeout,
    NoAtxferFeature,
    NoConsultation,
    NoSuchChannel,
    NoSuchQueue,
    NotAMember,
    NotDynamicMember,
    NoTransferTarget,
    OriginateFailed,
    PbxUnavailable,
)
from telephony.events import SpyMode
from telephony.spying import chanspy_data

log = structlog.get_logger()

Outcome = Literal["answered", "no_answer", "busy", "congestion", "failure", "hangup"]

# OriginateResponse `Reason` (Asterisk's AST_CONTROL_* numbers).
_REASONS: dict[str, Outcome] = {
    "4": "answered",
    "3": "no_answer",
    "5": "busy",
    "8": "congestion",
    "1": "hangup",
    "0": "failure",
}
# Asterisk 22 reports a busy phone as Reason 0: the channel's Hangup cause tells what it was.
_HANGUP_CAUSES: dict[str, Outcome] = {
    "17": "busy",
    "18": "no_answer",
    "19": "no_answer",
    "34": "congestion",
    "38": "congestion",
}
# Asterisk's exact error messages (app_queue.c, manager.c) -> the domain error they mean.
_ERRORS: dict[str, type[CommandFailed]] = {
    "Interface not found": NotAMember,
    "Unable to remove interface: Not there": NotAMember,
    "Unable to add interface: Already there": AlreadyAMember,
    "Member not dynamic": NotDynamicMember,
    "Unable to add interface to queue: No such queue": NoSuchQueue,
    "Unable to remove interface from queue: No such queue": NoSuchQueue,
    "No such channel": NoSuchChannel,
    "Channel specified does not exist": NoSuchChannel,
    "No extension specified": NoTransferTarget,
    "No attended transfer feature code found": NoAtxferFeature,
}


@dataclass(frozen=True, slots=True)
class OriginateResult:
    """How an outbound call ended up; `reason` and `hangup_cause` are Asterisk's raw codes."""

    outcome: Outcome
    reason: str
    channel_id: str
    hangup_cause: str | None = None


class CallControl(Protocol):
    """What the rest of hotline may ask of a PBX."""

    async def originate(
        self,
        pbx: str,
        channel: str,
        context: str,
        exten: str,
        priority: int = 1,
        *,
        channel_id: str,
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        timeout_ms: int = 30_000,
    ) -> OriginateResult: ...

    async def pause(
        self, pbx: str, queue: str | None, interface: str, reason: str = ""
    ) -> None: ...

    async def unpause(self, pbx: str, queue: str | None, interface: str) -> None: ...

    async def add_member(
        self,
        pbx: str,
        queue: str,
        interface: str,
        member_name: str,
        penalty: int = 0,
        *,
        paused_reason: str | None = None,
    ) -> None: ...

    async def remove_member(self, pbx: str, queue: str, interface: str) -> None: ...

    async def hangup(self, pbx: str, channel_or_call: str) -> None: ...

    async def channel_exists(self, pbx: str, channel_id: str) -> bool:
        """Whether the PBX has a live channel with this Uniqueid (an Originate's ChannelId)."""
        ...

    async def spy(
        self,
        pbx: str,
        phone: str,
        interface: str,
        mode: SpyMode,
        *,
        channel_id: str,
        timeout_ms: int = 20_000,
    ) -> OriginateResult:
        """Ring a supervisor's phone into ChanSpy on an agent's phone (telephony.spying)."""
        ...

    async def blind_transfer(self, pbx: str, channel: str, exten: str, context: str) -> None: ...

    async def attended_transfer(self, pbx: str, channel: str, exten: str, context: str) -> None: ...

    async def cancel_attended_transfer(self, pbx: str, channel: str) -> None: ...

    async def start_recording(self, pbx: str, channel: str, file: str) -> None: ...

    async def mute_recording(self, pbx: str, channel: str, *, muted: bool) -> None: ...


@dataclass(slots=True)
class _Pending:
    """An Originate waiting for its OriginateResponse (matched by ActionID)."""

    channel_id: str
    result: asyncio.Future[OriginateResult]
    hangup_cause: str | None = None


@dataclass(slots=True)
class _Watch:
    """Per link: originates in flight, by ActionID and by the ChannelId they dial; and the
    consultation leg of each attended transfer, by the transferring channel."""

    by_action: dict[str, _Pending] = field(default_factory=dict)
    by_channel: dict[str, _Pending] = field(default_factory=dict)
    # Local/<exten>@<context>- prefix of a consultation not dialled yet -> transferer.
    consult_prefixes: dict[str, str] = field(default_factory=dict)
    consults: dict[str, str] = field(default_factory=dict)

    def observe(self, message: AmiMessage) -> None:
        name = message.name
        if name == "Hangup":
            pending = self.by_channel.get(message.get("Uniqueid") or "")
            if pending is not None:
                pending.hangup_cause = message.get("Cause")
            self._consult_gone(message.get("Channel") or "")
        elif name == "Newchannel":
            self._consult_dialled(message.get("Channel") or "")
        elif name == "OriginateResponse":
            pending = self.by_action.get(message.action_id or "")
            if pending is not None and not pending.result.done():
                pending.result.set_result(_result(message, pending))

    def _consult_dialled(self, channel: str) -> None:
        """Asterisk dials the target as a Local channel pair; `;1` is the agent's side."""
        if not channel.endswith(";1"):
            return
        for prefix, transferer in list(self.consult_prefixes.items()):
            if channel.startswith(prefix):
                del self.consult_prefixes[prefix]
                self.consults[transferer] = channel

    def _consult_gone(self, channel: str) -> None:
        for transferer, consult in list(self.consults.items()):
            if channel in (transferer, consult):
                del self.consults[transferer]
        for prefix, transferer in list(self.consult_prefixes.items()):
            if channel == transferer:
                del self.consult_prefixes[prefix]


def _result(message: AmiMessage, pending: _Pending) -> OriginateResult:
    reason = message.get("Reason") or "0"
    outcome = _REASONS.get(reason, "failure")
    if outcome == "failure" and pending.hangup_cause is not None:
        outcome = _HANGUP_CAUSES.get(pending.hangup_cause, "failure")
    return OriginateResult(outcome, reason, pending.channel_id, pending.hangup_cause)


class AmiCallControl:
    """CallControl over the AMI links, one per PBX name."""

    def __init__(self, links: Mapping[str, AmiLink]) -> None:
        self._links = dict(links)
        self._watches: dict[str, _Watch] = {}
        for name, link in self._links.items():
            watch = _Watch()
            self._watches[name] = watch
            link.add_listener(watch.observe)

    def _link(self, pbx: str) -> AmiLink:
        link = self._links.get(pbx)
        if link is None:
            raise PbxUnavailable(pbx, "no such PBX configured")
        return link

    async def originate(
        self,
        pbx: str,
        channel: str,
        context: str,
        exten: str,
        priority: int = 1,
        *,
        channel_id: str,
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        timeout_ms: int = 30_000,
    ) -> OriginateResult:
        """Place a call into exten@context and wait until it is answered or has failed."""
        target = [("Context", context), ("Exten", exten), ("Priority", str(priority))]
        return await self._originate(
            pbx, channel, target, channel_id, caller_id, variables or {}, timeout_ms
        )

    async def spy(
        self,
        pbx: str,
        phone: str,
        interface: str,
        mode: SpyMode,
        *,
        channel_id: str,
        timeout_ms: int = 20_000,
    ) -> OriginateResult:
        """Ring the supervisor's `phone` straight into ChanSpy on the agent's `interface`
        (telephony.spying); answered, the supervisor hears the call in `mode`."""
        target = [("Application", "ChanSpy"), ("Data", chanspy_data(interface, mode))]
        return await self._originate(pbx, phone, target, channel_id, None, {}, timeout_ms)

    async def _originate(
        self,
        pbx: str,
        channel: str,
        target: list[tuple[str, str]],
        channel_id: str,
        caller_id: str | None,
        variables: Mapping[str, str],
        timeout_ms: int,
    ) -> OriginateResult:
        """Always Async, so the answer comes in a later OriginateResponse; the ChannelId becomes
        the channel's Uniqueid, which lets a busy phone be told from a failure by its Hangup.
        """
        link = self._link(pbx)
        watch = self._watches[pbx]
        action_id = link.next_action_id()
        fields = [
            ("Channel", channel),
            *target,
            ("Timeout", str(timeout_ms)),
            *([("CallerID", caller_id)] if caller_id else []),
            *(("Variable", f"{key}={value}") for key, value in variables.items()),
            ("Async", "true"),
            ("ChannelId", channel_id),
            ("ActionID", action_id),
        ]
        pending = _Pending(channel_id, asyncio.get_running_loop().create_future())
        watch.by_action[action_id] = pending
        watch.by_channel[channel_id] = pending
        bound = log.bind(pbx=pbx, channel_id=channel_id)
        try:
            try:
                await link.send_action("Originate", fields)
            except CommandFailed as exc:
                bound.warning("originate_refused", message=exc.message)
                raise OriginateFailed(pbx, exc.message) from exc
            wait_s = timeout_ms / 1000 + link.config.action_timeout
            try:
                result = await asyncio.wait_for(asyncio.shield(pending.result), wait_s)
            except TimeoutError:
                raise CommandTimeout(pbx, "Originate", wait_s) from None
        finally:
            watch.by_action.pop(action_id, None)
            watch.by_channel.pop(channel_id, None)
            pending.result.cancel()
        bound.info("originate_result", outcome=result.outcome, reason=result.reason)
        return result

    async def pause(self, pbx: str, queue: str | None, interface: str, reason: str = "") -> None:
        fields = [("Interface", interface), ("Paused", "true")]
        fields += [("Queue", queue)] if queue else []
        fields += [("Reason", reason)] if reason else []
        await self._command(pbx, "QueuePause", fields)

    async def unpause(self, pbx: str, queue: str | None, interface: str) -> None:
        fields = [("Interface", interface), ("Paused", "false")]
        fields += [("Queue", queue)] if queue else []
        await self._command(pbx, "QueuePause", fields)

    async def add_member(
        self,
        pbx: str,
        queue: str,
        interface: str,
        member_name: str,
        penalty: int = 0,
        *,
        paused_reason: str | None = None,
    ) -> None:
        """A dynamic member whose busy state is its own phone's (StateInterface); with
        `paused_reason` it joins paused, so it gets no call before it says it is ready."""
        fields = [
            ("Queue", queue),
            ("Interface", interface),
            ("MemberName", member_name),
            ("StateInterface", interface),
            ("Penalty", str(penalty)),
            ("Paused", "false" if paused_reason is None else "true"),
            *([("Reason", paused_reason)] if paused_reason else []),
        ]
        await self._command(pbx, "QueueAdd", fields)

    async def remove_member(self, pbx: str, queue: str, interface: str) -> None:
        await self._command(pbx, "QueueRemove", [("Queue", queue), ("Interface", interface)])

    async def hangup(self, pbx: str, channel_or_call: str) -> None:
        """Hang up a channel given by name, by Uniqueid, or the caller of a call key."""
        target = channel_or_call
        if target.startswith(f"{pbx}/") and target.count("/") >= 2:
            target = target.rsplit("/", 1)[1]
        await self._command(pbx, "Hangup", [("Channel", target)])

    async def channel_exists(self, pbx: str, channel_id: str) -> bool:
        items = await self._link(pbx).send_action("CoreShowChannels", as_list=True)
        return any(item.get("Uniqueid") == channel_id for item in items)

    async def blind_transfer(self, pbx: str, channel: str, exten: str, context: str) -> None:
        """Send the other side of `channel`'s call to exten@context.

        `channel` is the transferer: the agent's channel moves the caller (the caller's
        own channel would move the agent and hang up the caller, as the captures show).
        """
        fields = [("Channel", channel), ("Exten", exten), ("Context", context)]
        await self._command(pbx, "BlindTransfer", fields)

    async def attended_transfer(self, pbx: str, channel: str, exten: str, context: str) -> None:
        """Consult exten@context first; the agent hanging up completes the transfer."""
        watch = self._watches.get(pbx)
        prefix = f"Local/{exten}@{context}-"
        if watch is not None:
            watch.consult_prefixes[prefix] = channel
        fields = [("Channel", channel), ("Exten", exten), ("Context", context)]
        try:
            await self._command(pbx, "Atxfer", fields)
        except Exception:
            if watch is not None:
                watch.consult_prefixes.pop(prefix, None)
            raise

    async def cancel_attended_transfer(self, pbx: str, channel: str) -> None:
        """Hang up the consultation leg: the agent is back with the caller."""
        watch = self._watches.get(pbx)
        consult = watch.consults.get(channel) if watch is not None else None
        if consult is None:
            raise NoConsultation(pbx, "Hangup", "no consultation on this channel")
        await self._command(pbx, "Hangup", [("Channel", consult)])

    async def start_recording(self, pbx: str, channel: str, file: str) -> None:
        """MixMonitor on `channel` into `file` (a path on the PBX). Option `b`: only while
        bridged, so the recording holds the conversation, not the queue's music."""
        fields = [("Channel", channel), ("File", file), ("Options", "b")]
        await self._command(pbx, "MixMonitor", fields)

    async def mute_recording(self, pbx: str, channel: str, *, muted: bool) -> None:
        """Silence both directions of the recording running on `channel`, or end that."""
        fields = [("Channel", channel), ("Direction", "both"), ("State", "1" if muted else "0")]
        await self._command(pbx, "MixMonitorMute", fields)

    async def _command(self, pbx: str, action: str, fields: list[tuple[str, str]]) -> AmiMessage:
        try:
            return await self._link(pbx).send_action(action, fields)
        except CommandFailed as exc:
            error = _ERRORS.get(exc.message.strip())
            if error is None:
                raise
            raise error(pbx, action, exc.message) from exc

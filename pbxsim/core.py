"""State and bookkeeping shared by the queue and the originate call flows."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from pbxsim.clock import SimClock
from pbxsim.model import INUSE, NOT_INUSE, Channel, IdAllocator, Member, Queue
from pbxsim.queue_log import QueueLog
from pbxsim.templates import Fields, device_state, member_event, rtp_qos

Emit = Callable[[Fields], None]


class PbxCore:
    """Channels, queues and device states, plus the one `emit` every flow writes events to
    and the one queue_log every queue milestone is recorded in."""

    def __init__(
        self, emit: Emit, clock: SimClock, ids: IdAllocator, queue_log: QueueLog | None = None
    ) -> None:
        self.emit = emit
        self.clock = clock
        self.ids = ids
        self.queue_log = queue_log or QueueLog(clock)
        self.channels: dict[str, Channel] = {}
        self.queues: dict[str, Queue] = {}
        self.channelvars: tuple[str, ...] = ()
        self.atxfer_code: str | None = None
        self._avail: dict[str, int] = {}
        # Each flow claims the channels it owns when an AMI Hangup names one.
        self.hangup_hooks: list[Callable[[Channel], bool]] = []
        # Told of each channel once it is gone (ChanSpy's option E leaves with the spied one).
        self.gone_hooks: list[Callable[[Channel], None]] = []

    def new_channel(
        self,
        endpoint: str,
        *,
        caller_num: str,
        caller_name: str,
        context: str,
        exten: str,
        state: int = 0,
        linkedid: str | None = None,
        uniqueid: str | None = None,
    ) -> Channel:
        now = self.clock.now()
        suffix, allocated = self.ids.next(now)
        uid = uniqueid or allocated
        ch = Channel(
            name=f"{endpoint}-{suffix}",
            uniqueid=uid,
            linkedid=linkedid or uid,
            caller_num=caller_num,
            caller_name=caller_name,
            context=context,
            exten=exten,
            created=now,
            state=state,
            channelvars=self.channelvars,
            atxfer_code=self.atxfer_code,
        )
        self.channels[uid] = ch
        return ch

    def emit_rtp_qos(self, ch: Channel, peer: Channel | None = None) -> None:
        """The RTCP summary variables a media channel gets when it hangs up."""
        for fields in rtp_qos(ch, peer, secrets.randbits(31)):
            self.emit(fields)

    def hang_up(self, ch: Channel) -> bool:
        """Hang up `ch` through the flow that owns it; False when none does."""
        return any(hook(ch) for hook in self.hangup_hooks)

    def drop_channel(self, ch: Channel) -> None:
        if self.channels.pop(ch.uniqueid, None) is not None:
            for hook in list(self.gone_hooks):
                hook(ch)

    def endpoint_busy(self, endpoint: str) -> bool:
        return any(ch.endpoint == endpoint for ch in self.channels.values())

    def find_channel(self, name: str) -> Channel | None:
        for ch in self.channels.values():
            if ch.name == name:
                return ch
        return None

    def members_of(self, interface: str) -> list[Member]:
        return [q.members[interface] for q in self.queues.values() if interface in q.members]

    def set_member_state(self, interface: str, status: int, in_call: bool | None = None) -> None:
        """A device changed state: QueueMemberStatus for each queue it serves."""
        for member in self.members_of(interface):
            member.status = status
            if in_call is not None:
                member.in_call = in_call
            self.emit(member_event("QueueMemberStatus", member))
            self.update_avail(self.queues[member.queue])

    def update_avail(self, queue: Queue) -> None:
        """`Queue:<name>_avail` pseudo-device: NOT_INUSE while a member could take a call.

        Asterisk re-evaluates it when a member's device changes state (not on pause or
        membership changes) and reports it only when it differs from the last report.
        """
        state = NOT_INUSE if any(m.available for m in queue.members.values()) else INUSE
        if self._avail.get(queue.name) != state:
            self._avail[queue.name] = state
            self.emit(device_state(f"Queue:{queue.name}_avail", state))


def phone_identity(endpoint: str) -> tuple[str, str] | None:
    """The caller id a phone of this PBX presents (pjsip.conf `callerid`): agents' phones
    `"Agent 101" <101>`, supervisors' `"Supervisor 201" <201>`; None for other endpoints."""
    match = _PHONE.match(endpoint)
    if match is None:
        return None
    kind, number = match.groups()
    return number, f"{_PHONE_NAMES[kind]} {number}"


_PHONE = re.compile(r"^PJSIP/(agent|super)(\d+)$")
_PHONE_NAMES = {"agent": "Agent", "super": "Supervisor"}


def agent_number(interface: str) -> str:
    """`101` for `PJSIP/agent101`: the caller id number an agent's endpoint presents."""
    endpoint = interface.split("/", 1)[-1]
    match = re.search(r"(\d+)$", endpoint)
    return match.group(1) if match else endpoint

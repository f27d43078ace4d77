"""Queue membership and pauses: QueueAdd/QueueRemove/QueuePause and the control API."""

from __future__ import annotations

from collections.abc import Callable

from pbxsim.core import PbxCore
from pbxsim.model import INUSE, NOT_INUSE, Member, Queue, clean
from pbxsim.templates import device_state, member_event


class MemberError(Exception):
    """A member operation refused, with the message Asterisk puts in `Response: Error`."""


def _pause_device(member: Member) -> str:
    return f"Queue:{member.queue}_pause_{member.interface}"


class MemberRoster:
    """Adds, removes and pauses members; `on_free` offers a member to waiting callers."""

    def __init__(self, core: PbxCore, on_free: Callable[[Queue], None]) -> None:
        self.core = core
        self.on_free = on_free

    def add_member(
        self,
        queue_name: str,
        interface: str,
        name: str | None = None,
        *,
        dynamic: bool = True,
        penalty: int = 0,
        paused: bool = False,
        reason: str = "",
        state_interface: str = "",
        announce: bool = True,
    ) -> Member:
        """QueueAdd: a paused add announces only QueueMemberAdded (Paused 1, its reason)."""
        queue = self.core.queues.get(queue_name)
        if queue is None:
            raise MemberError("Unable to add interface to queue: No such queue")
        if interface in queue.members:
            raise MemberError("Unable to add interface: Already there")
        now = int(self.core.clock.now())
        member = Member(
            queue=queue_name,
            interface=interface,
            name=clean(name or interface),
            dynamic=dynamic,
            login_time=now,
            penalty=penalty,
            paused=paused,
            paused_reason=clean(reason) if paused else "",
            last_pause=now if paused else 0,
            status=INUSE if self.core.endpoint_busy(interface) else NOT_INUSE,
            state_interface=clean(state_interface),
        )
        queue.members[interface] = member
        if announce:
            self.core.emit(device_state(_pause_device(member), INUSE if paused else NOT_INUSE))
            self.core.emit(member_event("QueueMemberAdded", member))
            # app_queue names the interface (log_membername_as_agent = no, the default).
            self.core.queue_log.write(
                queue_name, "MANAGER", interface, "ADDMEMBER", "PAUSED" if paused else ""
            )
        self.on_free(queue)
        return member

    def remove_member(self, queue_name: str, interface: str) -> Member:
        queue = self.core.queues.get(queue_name)
        if queue is None:
            raise MemberError("Unable to remove interface from queue: No such queue")
        member = queue.members.get(interface)
        if member is None:
            raise MemberError("Unable to remove interface: Not there")
        if not member.dynamic:
            raise MemberError("Member not dynamic")
        del queue.members[interface]
        self.core.emit(member_event("QueueMemberRemoved", member))
        self.core.queue_log.write(queue_name, "MANAGER", interface, "REMOVEMEMBER", "")
        return member

    def pause_member(
        self, interface: str, paused: bool, reason: str = "", queue_name: str | None = None
    ) -> list[Member]:
        """Pause or unpause in one queue, or in every queue when `queue_name` is None."""
        members = [
            m
            for m in self.core.members_of(interface)
            if queue_name is None or m.queue == queue_name
        ]
        if not members:
            raise MemberError("Interface not found")
        now = int(self.core.clock.now())
        verb = "PAUSE" if paused else "UNPAUSE"
        if queue_name is None:
            self.core.queue_log.write("NONE", "NONE", interface, f"{verb}ALL", "")
        for member in members:
            self.core.queue_log.write(member.queue, "NONE", member.name, verb, clean(reason))
            member.paused = paused
            member.paused_reason = clean(reason) if paused else ""
            if paused:
                member.last_pause = now
            self.core.emit(device_state(_pause_device(member), INUSE if paused else NOT_INUSE))
            self.core.emit(member_event("QueueMemberPause", member))
        # No dispatch here: app_queue notices an unpaused member on the waiting caller's
        # next once-a-second check (wrapup-time.txt: rung 0.6 s after the unpause).
        return members

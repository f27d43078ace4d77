"""AMI actions about queues and channels, answered from the simulator's current state."""

from __future__ import annotations

from pbxsim.ami_server import AmiServer, AmiSession
from pbxsim.core import PbxCore
from pbxsim.members import MemberError, MemberRoster
from pbxsim.queue_calls import QueueEngine
from pbxsim.templates import (
    Fields,
    core_show_channel_item,
    list_complete,
    queue_entry_item,
    queue_member_item,
    queue_params_item,
    queue_summary_item,
)
from telephony.ami.protocol import AmiMessage

_TRUE = ("yes", "true", "y", "t", "1", "on")


def _send_list(
    session: AmiSession, request: AmiMessage, message: str, items: list[Fields], complete: str
) -> None:
    action_id = request.action_id or ""
    session.respond(request, "Success", ("EventList", "start"), ("Message", message))
    for item in items:
        session.send(item)
    session.send(list_complete(complete, action_id, len(items)))


class QueueActions:
    """QueueStatus, QueueSummary, CoreShowChannels, QueuePause, QueueAdd, QueueRemove, Hangup."""

    def __init__(self, core: PbxCore, engine: QueueEngine, members: MemberRoster) -> None:
        self.core = core
        self.engine = engine
        self.members = members

    def register(self, server: AmiServer) -> None:
        server.register("QueueStatus", self.queue_status)
        server.register("QueueSummary", self.queue_summary)
        server.register("CoreShowChannels", self.core_show_channels)
        server.register("QueuePause", self.queue_pause)
        server.register("QueueAdd", self.queue_add)
        server.register("QueueRemove", self.queue_remove)
        server.register("Hangup", self.hangup)

    async def queue_status(self, session: AmiSession, request: AmiMessage) -> None:
        wanted, member_filter = request.get("Queue"), request.get("Member")
        action_id, now = request.action_id or "", self.core.clock.now()
        items: list[Fields] = []
        for queue in self.core.queues.values():
            if wanted and queue.name != wanted:
                continue
            waiting = self.engine.waiting.get(queue.name, [])
            items.append(queue_params_item(queue, len(waiting), action_id))
            for member in queue.members.values():
                if member_filter and member_filter not in (member.interface, member.name):
                    continue
                items.append(queue_member_item(member, action_id))
            for position, call in enumerate(waiting, start=1):
                wait = int(now - call.joined)
                items.append(queue_entry_item(queue.name, position, call.caller, wait, action_id))
        _send_list(session, request, "Queue status will follow", items, "QueueStatusComplete")

    async def queue_summary(self, session: AmiSession, request: AmiMessage) -> None:
        wanted, action_id, now = (
            request.get("Queue"),
            request.action_id or "",
            self.core.clock.now(),
        )
        items: list[Fields] = []
        for queue in self.core.queues.values():
            if wanted and queue.name != wanted:
                continue
            waiting = self.engine.waiting.get(queue.name, [])
            members = list(queue.members.values())
            available = sum(1 for m in members if m.available)
            longest = max((int(now - c.joined) for c in waiting), default=0)
            items.append(
                queue_summary_item(queue, len(members), available, len(waiting), longest, action_id)
            )
        _send_list(session, request, "Queue summary will follow", items, "QueueSummaryComplete")

    async def core_show_channels(self, session: AmiSession, request: AmiMessage) -> None:
        action_id, now = request.action_id or "", self.core.clock.now()
        items = [core_show_channel_item(ch, now, action_id) for ch in self.core.channels.values()]
        _send_list(session, request, "Channels will follow", items, "CoreShowChannelsComplete")

    async def queue_pause(self, session: AmiSession, request: AmiMessage) -> None:
        interface, paused = request.get("Interface"), request.get("Paused")
        if not interface or paused is None:
            session.error(request, "Need 'Interface' and 'Paused' parameters.")
            return
        pause, queue = paused.strip().lower() in _TRUE, request.get("Queue")
        if not any(queue in (None, m.queue) for m in self.core.members_of(interface)):
            session.error(request, "Interface not found")
            return
        message = "Interface paused successfully" if pause else "Interface unpaused successfully"
        session.respond(request, "Success", ("Message", message))
        self.members.pause_member(interface, pause, request.get("Reason") or "", queue)

    async def queue_add(self, session: AmiSession, request: AmiMessage) -> None:
        queue, interface = request.get("Queue"), request.get("Interface")
        if not queue:
            session.error(request, "'Queue' not specified.")
            return
        if not interface:
            session.error(request, "'Interface' not specified.")
            return
        try:
            penalty = int(request.get("Penalty") or 0)
        except ValueError:
            penalty = 0
        paused = (request.get("Paused") or "").strip().lower() in _TRUE
        name = request.get("MemberName") or interface
        reason = request.get("Reason") or ""
        if queue in self.core.queues and interface not in self.core.queues[queue].members:
            session.respond(request, "Success", ("Message", "Added interface to queue"))
        try:
            self.members.add_member(
                queue,
                interface,
                name,
                penalty=penalty,
                paused=paused,
                reason=reason,
                state_interface=request.get("StateInterface") or "",
            )
        except MemberError as exc:
            session.error(request, str(exc))

    async def queue_remove(self, session: AmiSession, request: AmiMessage) -> None:
        queue, interface = request.get("Queue"), request.get("Interface")
        if not queue or not interface:
            session.error(request, "Need 'Queue' and 'Interface' parameters.")
            return
        known = self.core.queues.get(queue)
        member = known.members.get(interface) if known else None
        if member is not None and member.dynamic:
            session.respond(request, "Success", ("Message", "Removed interface from queue"))
        try:
            self.members.remove_member(queue, interface)
        except MemberError as exc:
            session.error(request, str(exc))

    async def hangup(self, session: AmiSession, request: AmiMessage) -> None:
        name = request.get("Channel")
        if not name:
            session.error(request, "No channel specified")
            return
        # Asterisk finds the channel by its name, else by its Uniqueid (an Originate's ChannelId).
        ch = self.core.find_channel(name) or self.core.channels.get(name)
        if ch is None:
            session.error(request, "No such channel")
            return
        session.respond(request, "Success", ("Message", "Channel Hungup"))
        self.core.hang_up(ch)

"""Rebuild a PBX's truth after a (re)connect from QueueStatus and CoreShowChannels.

AMI has no replay: whatever happened while the link was down is only visible in the PBX's
current state. The snapshot lists callers still waiting, queue calls talking to an agent
(the caller in `Queue` and the agent leg in `AppQueue` share a BridgeId) and every member.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import structlog

from telephony.ami.link import AmiLink
from telephony.ami.protocol import AmiMessage
from telephony.callerid import caller_id_text
from telephony.events import (
    ConnectedCall,
    MemberSnapshot,
    PbxSnapshot,
    WaitingCaller,
    make_call_key,
)
from telephony.translate import agent_state

log = structlog.get_logger()


async def take_snapshot(link: AmiLink, at: datetime) -> PbxSnapshot:
    """Ask the PBX for its queues and channels; raises the link's domain errors."""
    queue_status = await link.send_action("QueueStatus", as_list=True)
    channels = await link.send_action("CoreShowChannels", as_list=True)
    snapshot = build_snapshot(link.name, at, queue_status, channels)
    log.info(
        "pbx_snapshot_taken",
        pbx=link.name,
        waiting=len(snapshot.waiting),
        connected=len(snapshot.connected),
        members=len(snapshot.members),
    )
    return snapshot


def build_snapshot(
    pbx: str,
    at: datetime,
    queue_status: Sequence[AmiMessage],
    channels: Sequence[AmiMessage],
) -> PbxSnapshot:
    """Pure: the snapshot from the two EventList answers. Unusable items are skipped."""
    members = tuple(_members(queue_status))
    names = {(m.queue, m.interface): m.member_name for m in members}
    return PbxSnapshot(
        pbx=pbx,
        at=at,
        waiting=tuple(_waiting(pbx, queue_status)),
        connected=tuple(_connected(pbx, channels, names)),
        members=members,
    )


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _duration_s(value: str | None) -> float:
    """CoreShowChannel's `Duration: HH:MM:SS` in seconds (0 when unreadable)."""
    parts = (value or "").split(":")
    numbers = [_number(p) for p in parts]
    if len(parts) != 3 or any(n is None for n in numbers):
        return 0.0
    hours, minutes, seconds = (n or 0.0 for n in numbers)
    return hours * 3600 + minutes * 60 + seconds


def _interface(channel: str) -> str:
    """`PJSIP/agent101` for the channel `PJSIP/agent101-00000018`."""
    return channel.rsplit("-", 1)[0]


def _items(messages: Iterable[AmiMessage], name: str) -> Iterable[AmiMessage]:
    return (m for m in messages if m.name == name)


def _waiting(pbx: str, queue_status: Sequence[AmiMessage]) -> Iterable[WaitingCaller]:
    for entry in _items(queue_status, "QueueEntry"):
        queue, uniqueid = entry.get("Queue"), entry.get("Uniqueid")
        position = _number(entry.get("Position"))
        if not queue or not uniqueid or position is None:
            log.warning("snapshot_item_skipped", pbx=pbx, item="QueueEntry", uniqueid=uniqueid)
            continue
        yield WaitingCaller(
            call_key=make_call_key(pbx, queue, uniqueid),
            queue=queue,
            uniqueid=uniqueid,
            caller_number=caller_id_text(entry, "CallerIDNum"),
            caller_name=caller_id_text(entry, "CallerIDName"),
            position=int(position),
            wait_s=_number(entry.get("Wait")) or 0.0,
        )


def _members(queue_status: Sequence[AmiMessage]) -> Iterable[MemberSnapshot]:
    for member in _items(queue_status, "QueueMember"):
        queue, interface = member.get("Queue"), member.get("Location")
        if not queue or not interface:
            log.warning("snapshot_item_skipped", item="QueueMember", queue=queue)
            continue
        paused = member.get("Paused") == "1"
        yield MemberSnapshot(
            queue=queue,
            interface=interface,
            member_name=member.get("Name") or interface,
            state=agent_state(member.get("Status") or "", paused),
            paused=paused,
            reason=(member.get("PausedReason") or "") if paused else "",
        )


def _connected(
    pbx: str, channels: Sequence[AmiMessage], names: dict[tuple[str, str], str]
) -> Iterable[ConnectedCall]:
    listed = list(_items(channels, "CoreShowChannel"))
    agents = {
        bridge: channel
        for channel in listed
        if channel.get("Application") == "AppQueue" and (bridge := channel.get("BridgeId"))
    }
    for caller in listed:
        bridge = caller.get("BridgeId")
        agent = agents.get(bridge) if bridge else None
        uniqueid = caller.get("Uniqueid")
        queue = (caller.get("ApplicationData") or "").split(",")[0]
        if caller.get("Application") != "Queue" or agent is None or not uniqueid or not queue:
            continue
        interface = _interface(agent.get("Channel") or "")
        yield ConnectedCall(
            call_key=make_call_key(pbx, queue, uniqueid),
            queue=queue,
            uniqueid=uniqueid,
            linkedid=caller.get("Linkedid") or uniqueid,
            caller_number=caller_id_text(caller, "CallerIDNum"),
            caller_name=caller_id_text(caller, "CallerIDName"),
            interface=interface,
            member_name=names.get((queue, interface))
            or caller_id_text(agent, "CallerIDName")
            or interface,
            talking_s=_duration_s(agent.get("Duration")),
            caller_age_s=_duration_s(caller.get("Duration")),
        )

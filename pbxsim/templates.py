"""AMI message builders in Asterisk 22's exact field order (taken from the real captures).

Every builder returns a list of (key, value) pairs; `encode` turns it into wire bytes. The
order of the pairs is the contract with clients, so keep it as the captures show it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from pbxsim.model import (
    DEVICE_STATE_NAMES,
    STATE_DESC,
    UNKNOWN,
    Bridge,
    Channel,
    Member,
    Queue,
    clean,
)

Fields = list[tuple[str, str]]

CAUSE_TEXT = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    34: "Circuit/channel congestion",
}

_RTP_QOS = (
    "ssrc={ssrc};themssrc=0;lp=0;rxjitter=0.000000;rxcount=0;txjitter=0.000000;txcount={tx};"
    "rlp=0;rtt=0.000000;rxmes=0.000000;txmes=0.000000"
)
_RTP_STATS = (
    (
        "RTPAUDIOQOSJITTER",
        "minrxjitter=000.000000;maxrxjitter=000.000000;avgrxjitter=000.000000;"
        "stdevrxjitter=000.000000;mintxjitter=000.000000;maxtxjitter=000.000000;"
        "avgtxjitter=000.000000;stdevtxjitter=000.000000;",
    ),
    (
        "RTPAUDIOQOSLOSS",
        "  minrxlost=000.000000;  maxrxlost=000.000000;  avgrxlost=000.000000;"
        "  stdevrxlost=000.000000;  mintxlost=000.000000;  maxtxlost=000.000000;"
        "  avgtxlost=000.000000;  stdevtxlost=000.000000;",
    ),
    (
        "RTPAUDIOQOSRTT",
        "     minrtt=000.000000;     maxrtt=000.000000;     avgrtt=000.000000;"
        "     stdevrtt=000.000000;",
    ),
    (
        "RTPAUDIOQOSMES",
        "   minrxmes=000.000000;   maxrxmes=000.000000;   avgrxmes=000.000000;"
        "   stdevrxmes=000.000000;   mintxmes=000.000000;   maxtxmes=000.000000;"
        "   avgtxmes=000.000000;   stdevtxmes=000.000000;",
    ),
)


def encode(fields: Iterable[tuple[str, str]]) -> bytes:
    """Wire bytes of one message. Keys are this module's constants; values are cleaned."""
    return ("".join(f"{k}: {clean(v)}\r\n" for k, v in fields) + "\r\n").encode("utf-8")


def with_timestamp(fields: Fields, now: float) -> Fields:
    """Insert `Timestamp` after `Privilege`, as timestampevents=yes does."""
    out: Fields = []
    for key, value in fields:
        out.append((key, value))
        if key == "Privilege":
            out.append(("Timestamp", f"{now:.6f}"))
    return out


def event(name: str, privilege: str, *parts: Iterable[tuple[str, str]]) -> Fields:
    fields: Fields = [("Event", name), ("Privilege", privilege)]
    for part in parts:
        fields.extend(part)
    return fields


def channel_block(ch: Channel, prefix: str = "") -> Fields:
    return [
        *_channel_fields(ch, prefix),
        *((f"{prefix}ChanVariable", f"{v}={ch.variables.get(v, '')}") for v in ch.channelvars),
    ]


def _channel_fields(ch: Channel, prefix: str) -> Fields:
    return [
        (f"{prefix}Channel", ch.name),
        (f"{prefix}ChannelState", str(ch.state)),
        (f"{prefix}ChannelStateDesc", STATE_DESC.get(ch.state, "Unknown")),
        (f"{prefix}CallerIDNum", ch.caller_num),
        (f"{prefix}CallerIDName", ch.caller_name),
        (f"{prefix}ConnectedLineNum", ch.connected_num),
        (f"{prefix}ConnectedLineName", ch.connected_name),
        (f"{prefix}Language", ch.language),
        (f"{prefix}AccountCode", ch.account_code),
        (f"{prefix}Context", ch.context),
        (f"{prefix}Exten", ch.exten),
        (f"{prefix}Priority", str(ch.priority)),
        (f"{prefix}Uniqueid", ch.uniqueid),
        (f"{prefix}Linkedid", ch.linkedid),
    ]


def bridge_block(bridge: Bridge, prefix: str = "") -> Fields:
    return [
        (f"{prefix}BridgeUniqueid", bridge.uniqueid),
        (f"{prefix}BridgeType", "basic"),
        (f"{prefix}BridgeTechnology", bridge.technology),
        (f"{prefix}BridgeCreator", UNKNOWN),
        (f"{prefix}BridgeName", UNKNOWN),
        (f"{prefix}BridgeNumChannels", str(len(bridge.channels))),
        (f"{prefix}BridgeVideoSourceMode", "none"),
    ]


def _member_counters(m: Member) -> Fields:
    return [
        ("StateInterface", m.state_interface or m.interface),
        ("Membership", m.membership),
        ("Penalty", str(m.penalty)),
        ("CallsTaken", str(m.calls_taken)),
        ("LastCall", str(m.last_call)),
        ("LastPause", str(m.last_pause)),
        ("LoginTime", str(m.login_time)),
        ("InCall", "1" if m.in_call else "0"),
        ("Status", str(m.status)),
        ("Paused", "1" if m.paused else "0"),
        ("PausedReason", m.paused_reason),
    ]


def member_event(name: str, m: Member) -> Fields:
    """QueueMemberStatus / QueueMemberPause / QueueMemberAdded / QueueMemberRemoved."""
    return event(
        name,
        "agent,all",
        [("Queue", m.queue), ("MemberName", m.name), ("Interface", m.interface)],
        _member_counters(m),
        [("Ringinuse", "0"), ("Wrapuptime", "0")],
    )


def device_state(device: str, state: int) -> Fields:
    return event(
        "DeviceStateChange",
        "call,all",
        [("Device", device), ("State", DEVICE_STATE_NAMES[state])],
    )


def chan_event(
    name: str, ch: Channel, *extra: tuple[str, str], privilege: str = "call,all"
) -> Fields:
    return event(name, privilege, channel_block(ch), list(extra))


def varset(ch: Channel, variable: str, value: str) -> Fields:
    return chan_event(
        "VarSet", ch, ("Variable", variable), ("Value", value), privilege="dialplan,all"
    )


def newexten(ch: Channel, application: str, app_data: str) -> Fields:
    return chan_event(
        "Newexten",
        ch,
        ("Extension", ch.exten),
        ("Application", application),
        ("AppData", app_data),
        privilege="dialplan,all",
    )


def user_event(ch: Channel, app_data: str) -> Fields:
    """What `UserEvent(Name,Key: Value,...)` broadcasts: the name, then each pair as given."""
    name, *pairs = app_data.split(",")
    extra = [(k.strip(), v.strip()) for k, _, v in (p.partition(":") for p in pairs) if k.strip()]
    return event("UserEvent", "user,all", channel_block(ch), [("UserEvent", name)], extra)


def hangup(ch: Channel, cause: int, tech_cause: int | None = None) -> Fields:
    extra = [("Cause", str(cause)), ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown"))]
    if tech_cause is not None:
        extra.append(("TechCause", str(tech_cause)))
    return chan_event("Hangup", ch, *extra)


def dial_event(name: str, caller: Channel | None, dest: Channel, *extra: tuple[str, str]) -> Fields:
    """DialBegin/DialState/DialEnd: an Originate has no calling channel, only `Dest*`."""
    caller_part = channel_block(caller) if caller is not None else []
    return event(name, "call,all", caller_part, channel_block(dest, "Dest"), list(extra))


def queue_agent_event(
    name: str, caller: Channel, agent: Channel, member: Member, *extra: tuple[str, str]
) -> Fields:
    """AgentCalled / AgentConnect / AgentComplete / AgentRingNoAnswer."""
    return event(
        name,
        "agent,all",
        channel_block(caller),
        channel_block(agent, "Dest"),
        [("Queue", member.queue), ("Interface", member.interface), ("MemberName", member.name)],
        list(extra),
    )


def bridge_event(name: str, bridge: Bridge, ch: Channel | None = None) -> Fields:
    return event(name, "call,all", bridge_block(bridge), channel_block(ch) if ch else [])


def rtp_qos(ch: Channel, peer: Channel | None, ssrc: int) -> list[Fields]:
    """The RTCP quality variables Asterisk sets on a hanging-up channel (and its peer)."""
    out: list[Fields] = []
    stats = [("RTPAUDIOQOS", _RTP_QOS.format(ssrc=ssrc, tx=100 if peer else 0)), *_RTP_STATS]
    for variable, value in stats:
        out.append(varset(ch, variable, value))
        if peer is not None:
            out.append(varset(peer, f"{variable}BRIDGED", value))
    return out


def cdr(
    caller: Channel,
    dest_channel: str,
    *,
    last_app: str,
    last_data: str,
    start: float,
    answer: float | None,
    end: float,
    disposition: str,
) -> Fields:
    def stamp(t: float | None) -> str:
        return "" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))

    billable = 0 if answer is None else int(end - answer)
    return event(
        "Cdr",
        "cdr,all",
        [
            ("AccountCode", caller.account_code),
            ("Source", caller.caller_num),
            ("Destination", caller.exten),
            ("DestinationContext", caller.context),
            ("CallerID", f'"{caller.caller_name}" <{caller.caller_num}>'),
            ("Channel", caller.name),
            ("DestinationChannel", dest_channel),
            ("LastApplication", last_app),
            ("LastData", last_data),
            ("StartTime", stamp(start)),
            ("AnswerTime", stamp(answer)),
            ("EndTime", stamp(end)),
            ("Duration", str(int(end - start))),
            ("BillableSeconds", str(billable)),
            ("Disposition", disposition),
            ("AMAFlags", "DOCUMENTATION"),
            ("UniqueID", caller.uniqueid),
            ("UserField", ""),
        ],
    )


def queue_member_item(m: Member, action_id: str) -> Fields:
    """One `QueueMember` of a QueueStatus list: `Name`/`Location`, no Privilege, ActionID last."""
    counters = _member_counters(m)
    return [
        ("Event", "QueueMember"),
        ("Queue", m.queue),
        ("Name", m.name),
        ("Location", m.interface),
        *counters,
        ("Wrapuptime", "0"),
        ("ActionID", action_id),
    ]


def queue_params_item(q: Queue, calls: int, action_id: str) -> Fields:
    return [
        ("Event", "QueueParams"),
        ("Queue", q.name),
        ("Max", "0"),
        ("Strategy", q.strategy),
        ("Calls", str(calls)),
        ("Holdtime", str(q.stats.holdtime)),
        ("TalkTime", str(q.stats.talktime)),
        ("Completed", str(q.stats.completed)),
        ("Abandoned", str(q.stats.abandoned)),
        ("ServiceLevel", "0"),
        ("ServicelevelPerf", "0.0"),
        ("ServicelevelPerf2", "0.0"),
        ("Weight", "0"),
        ("ActionID", action_id),
    ]


def _bare(value: str) -> str:
    return "unknown" if value == UNKNOWN else value


def queue_entry_item(queue: str, position: int, ch: Channel, wait: int, action_id: str) -> Fields:
    return [
        ("Event", "QueueEntry"),
        ("Queue", queue),
        ("Position", str(position)),
        ("Channel", ch.name),
        ("Uniqueid", ch.uniqueid),
        ("CallerIDNum", _bare(ch.caller_num)),
        ("CallerIDName", _bare(ch.caller_name)),
        ("ConnectedLineNum", _bare(ch.connected_num)),
        ("ConnectedLineName", _bare(ch.connected_name)),
        ("Wait", str(wait)),
        ("Priority", "0"),
        ("ActionID", action_id),
    ]


def queue_summary_item(
    q: Queue, logged_in: int, available: int, callers: int, longest: int, action_id: str
) -> Fields:
    return [
        ("Event", "QueueSummary"),
        ("Queue", q.name),
        ("LoggedIn", str(logged_in)),
        ("Available", str(available)),
        ("Callers", str(callers)),
        ("HoldTime", str(q.stats.holdtime)),
        ("TalkTime", str(q.stats.talktime)),
        ("LongestHoldTime", str(longest)),
        ("ActionID", action_id),
    ]


def core_show_channel_item(ch: Channel, now: float, action_id: str) -> Fields:
    seconds = max(0, int(now - ch.created))
    duration = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return [
        ("Event", "CoreShowChannel"),
        ("ActionID", action_id),
        *channel_block(ch),
        ("Application", ch.application),
        ("ApplicationData", ch.application_data),
        ("Duration", duration),
        ("BridgeId", ch.bridge.uniqueid if ch.bridge else ""),
    ]


def shutdown_event(uncleanly: bool) -> Fields:
    """`Shutdown` (class system): sent just before Asterisk stops or restarts."""
    return event(
        "Shutdown",
        "system,all",
        [("Shutdown", "Uncleanly" if uncleanly else "Cleanly"), ("Restart", "True")],
    )


def list_complete(name: str, action_id: str, items: int) -> Fields:
    return [
        ("Event", name),
        ("ActionID", action_id),
        ("EventList", "Complete"),
        ("ListItems", str(items)),
    ]

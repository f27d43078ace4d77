"""The simulator's queue_log rows checked against the AMI events it emitted for the same call."""

from __future__ import annotations

from pbxsim import PbxSimulator
from pbxsim.queue_log import QueueLogRow
from telephony.ami.protocol import AmiMessage

# AgentComplete's Reason -> the queue_log event app_queue writes instead.
_COMPLETE = {"caller": "COMPLETECALLER", "agent": "COMPLETEAGENT"}
# Rows with no AMI event of their own: checked by the tests that make them.
_UNPAIRED = ("BLINDTRANSFER", "ATTENDEDTRANSFER", "EXITWITHKEY", "PAUSEALL", "UNPAUSEALL")


def _expected(message: AmiMessage, opos: dict[str, str]) -> tuple[str, ...] | None:
    """(callid, queue, agent, event, data1.., ) the row for this AMI event must have."""
    name, queue = message.name, message.get("Queue", "")
    uid, member = message.get("Uniqueid", ""), message.get("MemberName", "")
    if name == "QueueCallerJoin":
        opos[uid] = message["Position"]
        return (uid, queue, "NONE", "ENTERQUEUE", "", message["CallerIDNum"], message["Position"])
    if name == "AgentRingNoAnswer":
        return (uid, queue, member, "RINGNOANSWER", message["RingTime"])
    if name == "AgentConnect":
        data = (message["HoldTime"], message["DestUniqueid"], message["RingTime"])
        return (uid, queue, member, "CONNECT", *data)
    if name == "AgentComplete" and message["Reason"] in _COMPLETE:
        times = (message["HoldTime"], message["TalkTime"], opos[uid])
        return (uid, queue, member, _COMPLETE[message["Reason"]], *times)
    if name == "QueueCallerAbandon":
        data = (message["Position"], message["OriginalPosition"], message["HoldTime"])
        return (uid, queue, "NONE", "*", *data)
    if name == "QueueMemberAdded":
        return (
            "MANAGER",
            queue,
            message["Interface"],
            "ADDMEMBER",
            "PAUSED" if message["Paused"] == "1" else "",
        )
    if name == "QueueMemberRemoved":
        return ("MANAGER", queue, message["Interface"], "REMOVEMEMBER")
    if name == "QueueMemberPause":
        event = "PAUSE" if message["Paused"] == "1" else "UNPAUSE"
        return ("NONE", queue, member, event, "*")
    return None


def _actual(row: QueueLogRow) -> tuple[str, ...]:
    data = list(row.data)
    while data and data[-1] == "":
        data.pop()
    return (row.callid, row.queuename, row.agent, row.event, *data)


def _matches(expected: tuple[str, ...], row: tuple[str, ...]) -> bool:
    if len(row) < 4 or len(expected) < 4:
        return False
    width = max(len(expected), len(row))
    pad = [*expected, *[""] * (width - len(expected))], [*row, *[""] * (width - len(row))]
    return all(e in ("*", r) for e, r in zip(*pad, strict=True))


def queue_log_follows_the_ami(sim: PbxSimulator) -> list[tuple[str, ...]]:
    """Every queue milestone on the AMI has its queue_log row, in the same order; returns
    the rows (trailing empty data dropped) for further checks."""
    rows = [_actual(r) for r in sim.queue_log.rows if r.event not in _UNPAIRED]
    opos: dict[str, str] = {}
    wanted = [e for m in map(AmiMessage, sim.events) if (e := _expected(m, opos)) is not None]
    assert len(wanted) == len(rows), (wanted, rows)
    for expected, row in zip(wanted, rows, strict=True):
        assert _matches(expected, row), (expected, row)
    return [_actual(r) for r in sim.queue_log.rows]

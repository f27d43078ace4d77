"""Compare generated AMI event sequences with the real captures."""

from __future__ import annotations

import re
from collections.abc import Iterable

from pbxsim.templates import Fields
from telephony.ami.capture import read_capture
from telephony.ami.protocol import AmiMessage
from tests.fixtures import AMI_TRACES

from .conftest import capture_messages

NOISE_FREE_SKIP = {"RTCPSent", "FullyBooted", "SuccessfulAuth"}
# Values that depend on the clock, on randomness or on the SIP stack.
VOLATILE = {
    "Uniqueid",
    "Linkedid",
    "DestUniqueid",
    "DestLinkedid",
    "UniqueID",
    "BridgeUniqueid",
    "LoginTime",
    "LastCall",
    "LastPause",
    "StartTime",
    "AnswerTime",
    "EndTime",
    "Timestamp",
}
_VOLATILE_VARS = ("BRIDGEPVTCALLID", "RTPAUDIOQOS", "SIPDOMAIN")
SIGNIFICANT = {
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "AgentRingNoAnswer",
    "DialBegin",
    "DialEnd",
    "BridgeEnter",
    "Hangup",
    "OriginateResponse",
}


def capture_epoch(name: str) -> float:
    """When the capture's first channel appeared: start a simulator there to get its clock."""
    for item in read_capture(AMI_TRACES / name):
        if item.kind == "rx" and item.data.startswith(b"Event: Newchannel") and item.at:
            return item.at.timestamp()
    raise LookupError(name)


def captured_events(name: str) -> list[AmiMessage]:
    return [m for m in capture_messages(name) if "Privilege" in m and m.name not in NOISE_FREE_SKIP]


def generated(events: Iterable[Fields]) -> list[AmiMessage]:
    return [AmiMessage(pairs) for pairs in events]


def names(messages: list[AmiMessage]) -> list[str]:
    return [m.name or "" for m in messages]


def keys(message: AmiMessage) -> list[str]:
    return [k for k, _ in message]


def deterministic_values(message: AmiMessage) -> list[tuple[str, str]]:
    """The pairs whose values must be equal between two runs of the same scenario."""
    variable = message.get("Variable") or ""
    out = []
    for key, value in message:
        if key in VOLATILE or key.endswith("_MS"):
            continue
        if key == "Value" and (variable.startswith(_VOLATILE_VARS) or variable.endswith("_MS")):
            continue
        out.append((key, re.sub(r"\d{10}\.\d+", "UID", value)))
    return out

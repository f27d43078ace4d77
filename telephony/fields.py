"""Reading the fields of an AMI frame that make it part of a queue call, or refusing it.

A frame becomes part of a call only when what identifies the call is there and well formed:
a caller Uniqueid as Asterisk writes them (`1796203387.39`: epoch seconds, a dot, a
sequence), a queue name that cannot break a call key, an agent interface consistent with
the agent's channel (a truncated `PJSIP/agen` is not the interface of
`PJSIP/agent101-00000028`), numbers that are numbers, and no identifying key given twice
with two values. Anything else raises MalformedMessage with a short reason, which the
translator counts and logs.
"""

from __future__ import annotations

import re

from telephony.ami.protocol import AmiMessage

_UNIQUEID = re.compile(r"[0-9]{1,20}\.[0-9]{1,10}")
# A queue name may not hold what separates the parts of a call key, nor spaces.
_QUEUE = re.compile(r"[^\s/#]{1,80}")
_INTERFACE = re.compile(r"[A-Za-z0-9_]+/[^\s]{1,120}")
# Keys that name the call or its legs: a frame giving one of them twice must agree with itself.
_IDENTITY = ("Uniqueid", "Linkedid", "DestUniqueid", "Queue", "Interface", "Channel", "DestChannel")


class MalformedMessage(ValueError):
    """A frame that cannot be part of a call; `reason` is the label it is counted under."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def field(msg: AmiMessage, key: str) -> str:
    value = msg.get(key)
    if not value:
        raise MalformedMessage("missing_field", f"missing {key}")
    return value


def integer(msg: AmiMessage, key: str) -> int:
    return _number(field(msg, key), key)


def optional_integer(msg: AmiMessage, key: str) -> int | None:
    value = msg.get(key)
    return None if not value else _number(value, key)


def _number(value: str, key: str) -> int:
    if not value.isascii() or not value.strip().isdigit():
        raise MalformedMessage("bad_number", f"{key} is not a number")
    return int(value)


def check_identity(msg: AmiMessage) -> None:
    """Refuse a frame that names its call or legs twice, differently (which one is true?)."""
    for key in _IDENTITY:
        values = msg.getall(key)
        if len(values) > 1 and len(set(values)) > 1:
            raise MalformedMessage("conflicting_keys", f"{key} given {len(values)} times")


def caller_uniqueid(msg: AmiMessage) -> str:
    """The caller channel's Uniqueid, as Asterisk writes it."""
    value = field(msg, "Uniqueid")
    if not _UNIQUEID.fullmatch(value):
        raise MalformedMessage("bad_id", "Uniqueid is not an Asterisk uniqueid")
    return value


def queue_name(msg: AmiMessage) -> str:
    value = field(msg, "Queue")
    if not _QUEUE.fullmatch(value):
        raise MalformedMessage("bad_id", "Queue is not a queue name")
    return value


def agent_interface(msg: AmiMessage) -> str:
    """The member's Interface, checked against the agent channel when the frame names it."""
    interface = field(msg, "Interface")
    if not _INTERFACE.fullmatch(interface):
        raise MalformedMessage("bad_interface", "Interface is not a device")
    channel = msg.get("DestChannel")
    if channel and not _is_channel_of(channel, interface):
        raise MalformedMessage("bad_interface", "Interface does not match DestChannel")
    return interface


def _is_channel_of(channel: str, interface: str) -> bool:
    """`PJSIP/agent101-00000028` is a channel of `PJSIP/agent101`; a Local member
    (`Local/101@agents/n`) makes `Local/101@agents-0000001;1` channels."""
    base = interface
    if base.startswith("Local/"):
        base = "/".join(base.split("/")[:2])
    return channel.startswith(base + "-")

"""What a dial reaches, read from DialBegin: a phone of this PBX or a number outside.

PJSIP dials a trunk as `number@endpoint` (`0812345678@trunk`) and a phone of this PBX by
its endpoint alone (`agent102`, `PJSIP/agent102`); a Local channel (`Local/2102@from-agents`)
only runs dialplan, and its other half makes the real dial. This is how a transfer's
destination and an agent's call out are told apart without knowing the dialplan.
"""

from __future__ import annotations

from telephony.ami.protocol import AmiMessage
from telephony.events import TransferDestination


def trunk_number(dial_string: str) -> str | None:
    """The number of a dial through a trunk; None for a phone of this PBX."""
    number, at, endpoint = dial_string.partition("@")
    if not at or not number or not endpoint:
        return None
    return number.rsplit("/", 1)[-1]


def interface_of(channel: str) -> str:
    """`PJSIP/agent101-00000029` -> `PJSIP/agent101`: the device a channel was made on."""
    return channel.rsplit("-", 1)[0]


def dial_destination(msg: AmiMessage) -> tuple[TransferDestination, str] | None:
    """An outside number, or a phone of this PBX (its interface); None for a Local channel."""
    channel = msg.get("DestChannel") or ""
    if not channel or channel.startswith("Local/"):
        return None
    number = trunk_number(msg.get("DialString") or "")
    if number is not None:
        return "outside", number
    return "agent", interface_of(channel)


def local_exten(channel: str) -> str:
    """`Local/2102@from-agents-00000000;2` -> `2102`: the extension a consultation dialled."""
    if not channel.startswith("Local/"):
        return ""
    return channel[len("Local/") :].split("@", 1)[0]

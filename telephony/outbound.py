"""Calls agents make out through a trunk (click-to-call), from the dial to the hang-up.

An Originate of the agent's phone into the agents' context dials the citizen from the
agent's channel: DialBegin (Channel = the agent's channel, DialString `number@trunk`),
DialEnd ANSWER when the citizen picks up, then the Hangup of the agent's channel. None of
it is a queue call. The HOTLINE_CALLBACK channel variable (set by the Originate, sent as
`ChanVariable: HOTLINE_CALLBACK=<case ref>` when manager.conf lists it in `channelvars`)
names the case the call belongs to. The translator hands over only dials of channels that
are not part of a queue call (a caller transferred outside is the queue call's business).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from telephony.ami.protocol import AmiMessage
from telephony.dials import interface_of, trunk_number
from telephony.events import OutboundCallEnded

CALLBACK_VARIABLE = "HOTLINE_CALLBACK"
DEFAULT_MAX_OPEN = 4_096


def channel_variable(msg: AmiMessage, name: str) -> str:
    """The value of a `ChanVariable: NAME=value` line ('' when the channel has none)."""
    prefix = name + "="
    for line in msg.getall("ChanVariable"):
        if line.startswith(prefix):
            return line[len(prefix) :]
    return ""


@dataclass(slots=True)
class _Dial:
    uniqueid: str
    interface: str
    number: str
    callback: str
    dialled_at: datetime
    dest_uniqueid: str
    answered_at: datetime | None = None


class OutboundCalls:
    """The outbound calls of one PBX in progress, bounded."""

    def __init__(self, pbx: str, *, max_open: int = DEFAULT_MAX_OPEN) -> None:
        self.pbx = pbx
        self._max_open = max_open
        self._open: OrderedDict[str, _Dial] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open)

    def dial_begin(self, msg: AmiMessage, at: datetime) -> None:
        """A channel outside any queue call dials: follow it if it goes out through a trunk."""
        channel, uniqueid = msg.get("Channel"), msg.get("Uniqueid")
        number = trunk_number(msg.get("DialString") or "")
        if not channel or not uniqueid or number is None or uniqueid in self._open:
            return
        self._open[uniqueid] = _Dial(
            uniqueid=uniqueid,
            interface=interface_of(channel),
            number=number,
            callback=channel_variable(msg, CALLBACK_VARIABLE),
            dialled_at=at,
            dest_uniqueid=msg.get("DestUniqueid") or "",
        )
        while len(self._open) > self._max_open:
            self._open.popitem(last=False)

    def dial_end(self, msg: AmiMessage, at: datetime) -> None:
        dial = self._open.get(msg.get("Uniqueid") or "")
        if dial is None or (msg.get("DialStatus") or "").upper() != "ANSWER":
            return
        if msg.get("DestUniqueid") in ("", None, dial.dest_uniqueid):
            dial.answered_at = at

    def hangup(self, msg: AmiMessage, at: datetime) -> OutboundCallEnded | None:
        """The agent's channel is gone: the outbound call is over."""
        dial = self._open.pop(msg.get("Uniqueid") or "", None)
        if dial is None:
            return None
        return OutboundCallEnded(
            pbx=self.pbx,
            at=at,
            uniqueid=dial.uniqueid,
            interface=dial.interface,
            number=dial.number,
            callback=dial.callback,
            dialled_at=dial.dialled_at,
            answered_at=dial.answered_at,
        )

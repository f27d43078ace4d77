"""Supervisors' ChanSpy legs: which supervisor's phone hears which agent, start to end.

hotline spies by originating the supervisor's phone straight into the ChanSpy application
(chanspy-listen-whisper-barge.txt): `Data: <agent channel prefix>,<options>`, options `q`
(no beep, no name announced) and `E` (leave when the spied channel hangs up, so a spy ends
with its call), plus `w` to whisper to the agent or `B` to barge in on both. Asterisk reports
every mode alike, ChanSpyStart and ChanSpyStop with Spyer*/Spyee* channel blocks; the mode
shows only in the OriginateResponse's `Data`. The supervisor's leg never joins a queue and
its Linkedid is its own, so nothing of it is a queue call, a wait or an agent's talk.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Literal, TypeVar

from telephony.ami.protocol import AmiMessage
from telephony.dials import interface_of
from telephony.events import SpyEnded, SpyMode, SpyStarted

SPY_OPTIONS: dict[SpyMode, str] = {"listen": "qE", "whisper": "qEw", "barge": "qEB"}
DEFAULT_MAX_OPEN = 1_024
_V = TypeVar("_V")


def chanspy_data(interface: str, mode: SpyMode) -> str:
    """ChanSpy's arguments for spying on the agent's phone: `PJSIP/agent101-,qE`.

    ChanSpy takes a channel-name prefix; the trailing dash keeps `PJSIP/agent101` from also
    matching `PJSIP/agent1010-...`.
    """
    return f"{interface}-,{SPY_OPTIONS[mode]}"


def mode_of(data: str) -> SpyMode | None:
    """The mode a ChanSpy `Data` asked for, or None when it is no ChanSpy of ours."""
    _, comma, options = data.rpartition(",")
    if not comma:
        return None
    if "B" in options:
        return "barge"
    if "w" in options:
        return "whisper"
    return "listen"


class SpyLegs:
    """The spying legs of one PBX: their mode from the Originate, their call once spying."""

    def __init__(self, pbx: str, *, max_open: int = DEFAULT_MAX_OPEN) -> None:
        self.pbx = pbx
        self._max_open = max_open
        self._modes: OrderedDict[str, SpyMode] = OrderedDict()
        self._spying: OrderedDict[str, str] = OrderedDict()
        self._hanging_up: set[str] = set()

    def __len__(self) -> int:
        return len(self._modes) + len(self._spying)

    def hangup_requested(self, uniqueid: str) -> None:
        """The spying leg is being hung up: a ChanSpyStop that follows is the supervisor's."""
        if uniqueid in self._spying:
            self._hanging_up.add(uniqueid)

    def originated(self, msg: AmiMessage) -> None:
        """An OriginateResponse: a ChanSpy leg that answered says its mode here."""
        uniqueid = msg.get("Uniqueid") or ""
        if msg.get("Application") != "ChanSpy" or msg.get("Response") != "Success":
            return
        mode = mode_of(msg.get("Data") or "")
        if mode is not None and uniqueid:
            self._modes[uniqueid] = mode
            _bound(self._modes, self._max_open)

    def started(self, msg: AmiMessage, at: datetime, call_key: str) -> SpyStarted | None:
        uniqueid = msg.get("SpyerUniqueid") or ""
        spyee = msg.get("SpyeeChannel") or ""
        if not uniqueid or not spyee:
            return None
        self._spying[uniqueid] = call_key
        _bound(self._spying, self._max_open)
        return SpyStarted(
            pbx=self.pbx,
            at=at,
            spyer_uniqueid=uniqueid,
            spyer_channel=msg.get("SpyerChannel") or "",
            spyee_channel=spyee,
            interface=interface_of(spyee),
            call_key=call_key,
            mode=self._modes.pop(uniqueid, None),
        )

    def stopped(self, uniqueid: str, at: datetime) -> SpyEnded | None:
        """ChanSpyStop, or the Hangup of the spying leg: the first one ends the spy."""
        self._modes.pop(uniqueid, None)
        call_key = self._spying.pop(uniqueid, None)
        by: Literal["supervisor", "call"] = "supervisor" if uniqueid in self._hanging_up else "call"
        self._hanging_up.discard(uniqueid)
        if call_key is None:
            return None
        return SpyEnded(pbx=self.pbx, at=at, spyer_uniqueid=uniqueid, call_key=call_key, by=by)


def _bound(entries: OrderedDict[str, _V], limit: int) -> None:
    while len(entries) > limit:
        entries.popitem(last=False)

"""ChanSpy, as an Originate straight into the application runs it
(chanspy-listen-whisper-barge.txt).

The supervisor's answered channel spies on the first live channel whose name starts with
the prefix in `Data` (`PJSIP/agent101,qE`): ChanSpyStart a tenth of a second later, with
Spyer* and Spyee* channel blocks, alike for every mode (q, w, B only change the audio).
When the supervisor hangs up: HangupRequest, ChanSpyStop, the Cdr (LastApplication ChanSpy)
and Hangup Cause 0, as captured. With option E, the spied channel going away ends ChanSpy
too: ChanSpyStop, and Asterisk hangs the supervisor's leg up (cause 16) since the
application returned. With no channel to spy on, ChanSpy keeps scanning, once a second.
"""

from __future__ import annotations

import asyncio

from pbxsim.core import PbxCore
from pbxsim.model import Channel
from pbxsim.templates import cdr, chan_event, channel_block, event, hangup

SCAN_S = 1.0
START_S = 0.1
_NORMAL_CLEARING = 16


async def run_chanspy(
    core: PbxCore, spyer: Channel, data: str, hung: asyncio.Event, hangup_after: float | None
) -> None:
    """Spy until the supervisor's phone hangs up (`hung`, or `hangup_after` seconds) or,
    with option E, until the spied channel is gone."""
    prefix, _, options = data.partition(",")
    spyer.application, spyer.application_data = "ChanSpy", data
    started = core.clock.now()
    spyee = _target(core, spyer, prefix)
    while spyee is None:
        if await core.clock.wait(hung, SCAN_S) or _phone_hung_up(core, started, hangup_after):
            _supervisor_hung_up(core, spyer, None)
            return
        spyee = _target(core, spyer, prefix)
    if await core.clock.wait(hung, START_S):
        _supervisor_hung_up(core, spyer, None)
        return
    core.emit(_spy_event("ChanSpyStart", spyer, spyee))
    gone = asyncio.Event()

    def on_gone(ch: Channel) -> None:
        if ch is spyee and "E" in options:
            gone.set()
            hung.set()

    core.gone_hooks.append(on_gone)
    try:
        remaining = None if hangup_after is None else hangup_after - (core.clock.now() - started)
        if remaining is None:
            await hung.wait()
        else:
            await core.clock.wait(hung, remaining)
    finally:
        core.gone_hooks.remove(on_gone)
    if gone.is_set():
        core.emit(_spy_event("ChanSpyStop", spyer, spyee))
        _end(core, spyer, _NORMAL_CLEARING)
    else:
        _supervisor_hung_up(core, spyer, spyee)


def _target(core: PbxCore, spyer: Channel, prefix: str) -> Channel | None:
    """The first live, answered channel ChanSpy's prefix names (never the spyer itself)."""
    for ch in core.channels.values():
        if ch is not spyer and ch.state == 6 and ch.name.lower().startswith(prefix.lower()):
            return ch
    return None


def _phone_hung_up(core: PbxCore, started: float, hangup_after: float | None) -> bool:
    return hangup_after is not None and core.clock.now() - started >= hangup_after


def _spy_event(name: str, spyer: Channel, spyee: Channel) -> list[tuple[str, str]]:
    return event(name, "call,all", channel_block(spyer, "Spyer"), channel_block(spyee, "Spyee"))


def _supervisor_hung_up(core: PbxCore, spyer: Channel, spyee: Channel | None) -> None:
    core.emit(chan_event("HangupRequest", spyer))
    if spyee is not None:
        core.emit(_spy_event("ChanSpyStop", spyer, spyee))
    _end(core, spyer, 0)


def _end(core: PbxCore, spyer: Channel, cause: int) -> None:
    core.emit(
        cdr(
            spyer,
            "",
            last_app="ChanSpy",
            last_data=spyer.application_data,
            start=spyer.created,
            answer=spyer.answered,
            end=core.clock.now(),
            disposition="ANSWERED",
        )
    )
    core.emit(hangup(spyer, cause))
    core.drop_channel(spyer)

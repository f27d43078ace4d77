"""AMI MixMonitor, MixMonitorMute and StopMixMonitor, answered as in mixmonitor.txt, with a
real recording written when it ends.

Asterisk answers MixMonitor with a bare `Response: Success` (then VarSet
MIXMONITOR_FILENAME and MixMonitorStart on the channel), MixMonitorMute with Success and a
MixMonitorMute event (Direction, State), StopMixMonitor with Success and MixMonitorStop, or
`Could not stop monitoring channel` when nothing runs; an unknown channel is `No such
channel`. A hang-up ends a recording with no event at all.

The file is 8 kHz mono 16-bit WAV like Asterisk's: a quiet tone for the time recorded and
silence while muted, written into `folder` (the folder shared with the service) under the
base name of the action's `File`. The length is the simulated time, capped, so the demo
can play it and a test can check its mute.
"""

from __future__ import annotations

import math
import struct
import wave
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import structlog

from pbxsim.ami_server import AmiServer, AmiSession
from pbxsim.core import PbxCore
from pbxsim.model import Channel
from pbxsim.templates import Fields, chan_event, varset
from telephony.ami.protocol import AmiMessage

log = structlog.get_logger()

RATE = 8000
MAX_SECONDS = 60.0
TONE_HZ = 440.0
AMPLITUDE = 3000


@dataclass
class _Running:
    channel: Channel
    target: Path | None
    started: float
    # (start, end) of each mute, in simulated seconds since `started`.
    mutes: list[tuple[float, float | None]] = field(default_factory=list)


def write_wav(target: Path, seconds: float, mutes: list[tuple[float, float | None]]) -> None:
    """A tone of `seconds`, silent over the mutes (an open mute runs to the end).

    Built from one second of tone repeated, so a minute costs no per-sample loop on the
    simulator's event loop."""
    frames = int(min(max(seconds, 0.2), MAX_SECONDS) * RATE)
    second = b"".join(
        struct.pack("<h", int(AMPLITUDE * math.sin(2 * math.pi * TONE_HZ * i / RATE)))
        for i in range(RATE)
    )
    samples = bytearray((second * (frames // RATE + 1))[: frames * 2])
    for start, end in mutes:
        first, last = int(start * RATE), frames if end is None else min(int(end * RATE), frames)
        if last > first:
            samples[first * 2 : last * 2] = bytes((last - first) * 2)
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(samples))


class MixMonitors:
    """The recordings running on the simulator's channels, one per channel."""

    def __init__(self, core: PbxCore, folder: Path | None = None) -> None:
        self.core = core
        self.folder = folder
        self._running: dict[str, _Running] = {}
        self.written: list[Path] = []

    def register(self, server: AmiServer) -> None:
        server.register("MixMonitor", self.mixmonitor)
        server.register("MixMonitorMute", self.mute)
        server.register("StopMixMonitor", self.stop)

    def _elapsed(self, running: _Running) -> float:
        return self.core.clock.now() - running.started

    async def mixmonitor(self, session: AmiSession, request: AmiMessage) -> None:
        ch = self.core.find_channel(request.get("Channel") or "")
        if ch is None:
            session.error(request, "No such channel")
            return
        file = request.get("File") or ""
        name = PurePosixPath(file).name
        target = self.folder / name if self.folder is not None and name else None
        self._running[ch.uniqueid] = _Running(ch, target, self.core.clock.now())
        session.respond(request)
        self.core.emit(varset(ch, "MIXMONITOR_FILENAME", file))
        self.core.emit(chan_event("MixMonitorStart", ch))

    async def mute(self, session: AmiSession, request: AmiMessage) -> None:
        ch = self.core.find_channel(request.get("Channel") or "")
        if ch is None:
            session.error(request, "No such channel")
            return
        state = "1" if (request.get("State") or "0") == "1" else "0"
        running = self._running.get(ch.uniqueid)
        if running is not None:
            now = self._elapsed(running)
            if state == "1" and not (running.mutes and running.mutes[-1][1] is None):
                running.mutes.append((now, None))
            elif state == "0" and running.mutes and running.mutes[-1][1] is None:
                running.mutes[-1] = (running.mutes[-1][0], now)
        session.respond(request)
        direction = request.get("Direction") or "both"
        self.core.emit(chan_event("MixMonitorMute", ch, ("Direction", direction), ("State", state)))

    async def stop(self, session: AmiSession, request: AmiMessage) -> None:
        ch = self.core.find_channel(request.get("Channel") or "")
        running = self._running.get(ch.uniqueid) if ch is not None else None
        if ch is None or running is None:
            session.error(request, "Could not stop monitoring channel")
            return
        session.respond(request)
        self._finish(ch.uniqueid)
        self.core.emit(chan_event("MixMonitorStop", ch))

    def observe(self, fields: Fields) -> None:
        """A Hangup of a recorded channel ends its recording, with no event."""
        if fields and fields[0] == ("Event", "Hangup"):
            uniqueid = next((v for k, v in fields if k == "Uniqueid"), "")
            if uniqueid in self._running:
                self._finish(uniqueid)

    def _finish(self, uniqueid: str) -> None:
        running = self._running.pop(uniqueid)
        if running.target is None:
            return
        try:
            write_wav(running.target, self._elapsed(running), running.mutes)
        except OSError:
            log.exception("sim_recording_not_written", file=str(running.target))
            return
        self.written.append(running.target)
        log.info("sim_recording_written", file=str(running.target))

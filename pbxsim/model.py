"""The simulated PBX's state: channels, bridges, queues and their members.

Plain data with no I/O; the call flows mutate it and the AMI builders read it, so an
action like QueueStatus always reports the simulator's current truth.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

UNKNOWN = "<unknown>"

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}

# Device states as numbers (QueueMemberStatus `Status`) and names (DeviceStateChange `State`).
NOT_INUSE, INUSE, BUSY, INVALID, UNAVAILABLE, RINGING, RINGINUSE, ONHOLD = 1, 2, 3, 4, 5, 6, 7, 8
DEVICE_STATE_NAMES = {
    0: "UNKNOWN",
    NOT_INUSE: "NOT_INUSE",
    INUSE: "INUSE",
    BUSY: "BUSY",
    INVALID: "INVALID",
    UNAVAILABLE: "UNAVAILABLE",
    RINGING: "RINGING",
    RINGINUSE: "RINGINUSE",
    ONHOLD: "ONHOLD",
}


KEEP_FINISHED = 10_000


def trim(items: list[T], finished: Callable[[T], bool], keep: int = KEEP_FINISHED) -> None:
    """Forget the oldest finished items beyond `keep`, so a long demo run stays bounded."""
    excess = len(items) - keep
    if excess <= 0:
        return
    drop = [item for item in items[: excess * 2] if finished(item)][:excess]
    for item in drop:
        items.remove(item)


_UNSAFE = str.maketrans({"\r": " ", "\n": " ", "\x00": " "})


def clean(text: str) -> str:
    """Make untrusted text safe for one AMI header value (no CR/LF, no NUL)."""
    return text.translate(_UNSAFE)


@dataclass
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    caller_num: str
    caller_name: str
    context: str
    exten: str
    created: float
    priority: int = 1
    state: int = 0
    connected_num: str = UNKNOWN
    connected_name: str = UNKNOWN
    language: str = "en"
    account_code: str = ""
    application: str = ""
    application_data: str = ""
    answered: float | None = None
    bridge: Bridge | None = None
    variables: dict[str, str] = field(default_factory=dict)
    # manager.conf `channelvars`: reported with every event about this channel.
    channelvars: tuple[str, ...] = ()
    # features.conf's atxfer code as it was when the channel was created (None: no code).
    atxfer_code: str | None = None

    @property
    def endpoint(self) -> str:
        """`PJSIP/agent101` for `PJSIP/agent101-00000001`: the device of the channel."""
        return self.name.rsplit("-", 1)[0]


@dataclass
class Bridge:
    uniqueid: str
    technology: str = "simple_bridge"
    channels: list[Channel] = field(default_factory=list)


@dataclass
class Member:
    queue: str
    interface: str
    name: str
    dynamic: bool
    login_time: int
    penalty: int = 0
    paused: bool = False
    paused_reason: str = ""
    last_pause: int = 0
    calls_taken: int = 0
    last_call: int = 0
    in_call: bool = False
    status: int = NOT_INUSE
    state_interface: str = ""

    @property
    def membership(self) -> str:
        return "dynamic" if self.dynamic else "static"

    @property
    def available(self) -> bool:
        return not self.paused and self.status == NOT_INUSE

    def ringable(self, now: float, wrapuptime: int) -> bool:
        """Available and out of the queue's wrap-up (app_queue compares whole seconds)."""
        in_wrapup = self.last_call > 0 and int(now) - self.last_call < wrapuptime
        return self.available and not in_wrapup


@dataclass
class QueueStats:
    """Rolling figures Asterisk keeps per queue (QueueParams / QueueSummary)."""

    holdtime: int = 0
    talktime: int = 0
    completed: int = 0
    abandoned: int = 0

    def record_hold(self, seconds: int) -> None:
        # app_queue weights the running average 3:1 towards the old value.
        self.holdtime = (self.holdtime * 3 + seconds) // 4

    def record_talk(self, seconds: int) -> None:
        self.talktime = (self.talktime * 3 + seconds) // 4


@dataclass
class Queue:
    name: str
    strategy: str = "rrmemory"
    timeout: float = 15.0
    retry: float = 2.0
    wrapuptime: int = 0
    members: dict[str, Member] = field(default_factory=dict)
    stats: QueueStats = field(default_factory=QueueStats)
    rrpos: int = 0
    wrapped: bool = False

    def next_member(self, now: float) -> Member | None:
        """The member app_queue's rrmemory rings next, or None when nobody can be rung.

        As app_queue's calc_metric: a member at or after the remembered position `rrpos`
        scores its position, one before it 1000 + position, and each penalty point adds a
        million (the lowest penalty goes first). After a ring, rrpos moves to the next
        member by score (store_next_rr), or on when there is none.
        """
        order = list(self.members.values())
        scores = [self._score(pos, m) for pos, m in enumerate(order)]
        ready = [
            (s, m) for s, m in zip(scores, order, strict=True) if m.ringable(now, self.wrapuptime)
        ]
        if not ready:
            return None
        best_score, best = min(ready, key=lambda item: item[0])
        later = [s for s in scores if s > best_score]
        if later:
            self.rrpos = min(later) % 1000
        else:
            self.rrpos = 0 if self.wrapped else self.rrpos + 1
        self.wrapped = False
        return best

    def start_after(self, interface: str) -> None:
        """Make rrmemory ring the member after `interface` next (tests align with a capture)."""
        names = list(self.members)
        self.rrpos = names.index(interface) + 1 if interface in names else 0

    def _score(self, pos: int, member: Member) -> int:
        if pos < self.rrpos:
            score = 1000 + pos
        else:
            if pos > self.rrpos:
                self.wrapped = True
            score = pos
        return score + member.penalty * 1_000_000


class IdAllocator:
    """Uniqueids `<epoch>.<seq>` and channel suffixes `-%08x` share one counter, like Asterisk."""

    def __init__(self, start: int = 0) -> None:
        self._seq = itertools.count(start)

    def next(self, now: float) -> tuple[str, str]:
        """Return (channel suffix, uniqueid) for a channel created at `now`."""
        seq = next(self._seq)
        return f"{seq:08x}", f"{int(now)}.{seq}"

    @staticmethod
    def bridge_id() -> str:
        return str(uuid.uuid4())

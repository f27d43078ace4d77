"""Typed telephony events: the only shape in which the PBX reaches the rest of hotline.

Every event names its PBX and carries an aware UTC `at` (the AMI `Timestamp:` when the PBX
sends one, else the receive time). Call events carry `call_key`, the opaque
"{pbx}/{queue}/{caller uniqueid}" string that identifies one queue call everywhere; nothing
outside telephony should take it apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

HungUpBy: TypeAlias = Literal["caller", "agent", "transfer", "system"]
ExitReason: TypeAlias = Literal["timeout", "empty", "key", "unknown"]
AgentState: TypeAlias = Literal[
    "ready", "ringing", "in_call", "paused", "unavailable", "logged_out"
]


def make_call_key(pbx: str, queue: str, uniqueid: str) -> str:
    """Build the call key the same way everywhere (translator, resync, tests)."""
    return f"{pbx}/{queue}/{uniqueid}"


@dataclass(frozen=True, slots=True)
class CallQueued:
    """A caller joined a queue. `uniqueid`/`linkedid` are for the call record only."""

    pbx: str
    at: datetime
    call_key: str
    queue: str
    uniqueid: str
    linkedid: str
    caller_number: str
    caller_name: str
    position: int
    count: int


@dataclass(frozen=True, slots=True)
class AgentRinging:
    """An agent's phone rings for a queue call: the screen-pop trigger."""

    pbx: str
    at: datetime
    call_key: str
    queue: str
    interface: str
    member_name: str
    caller_number: str
    caller_name: str


@dataclass(frozen=True, slots=True)
class RingNoAnswer:
    """The agent let it ring out; the queue tries someone else."""

    pbx: str
    at: datetime
    call_key: str
    queue: str
    interface: str
    member_name: str
    ring_s: float


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """An agent picked up: wait is join -> answer, ring is the agent's ringing time."""

    pbx: str
    at: datetime
    call_key: str
    queue: str
    interface: str
    member_name: str
    caller_number: str
    caller_name: str
    wait_s: float
    ring_s: float
    # The agent's own channel (AMI DestChannel): transfers and hang-ups act on it.
    agent_channel: str = ""


@dataclass(frozen=True, slots=True)
class CallHeld:
    """The call was put on hold (by whichever leg pressed hold)."""

    pbx: str
    at: datetime
    call_key: str
    queue: str
    interface: str


@dataclass(frozen=True, slots=True)
class CallResumed:
    """The call came off hold; `held_s` is this one interval."""

    pbx: str
    at: datetime
    call_key: str
    queue: str
    interface: str
    held_s: float


@dataclass(frozen=True, slots=True)
class CallTransferred:
    """The agent handed the call on; `target` is the extension or party it went to."""

    pbx: str
    at: datetime
    call_key: str
    queue: str
    interface: str
    target: str


@dataclass(frozen=True, slots=True)
class CallEnded:
    """An answered call is over. Emitted exactly once per call.

    `talk_s` is answer -> hang-up less hold (AMI's TalkTime includes hold).
    """

    pbx: str
    at: datetime
    call_key: str
    queue: str
    interface: str
    member_name: str
    caller_number: str
    hung_up_by: HungUpBy
    talk_s: float
    hold_s: float
    wait_s: float


@dataclass(frozen=True, slots=True)
class CallAbandoned:
    """The caller hung up while waiting in the queue."""

    pbx: str
    at: datetime
    call_key: str
    queue: str
    wait_s: float
    position: int
    original_position: int


@dataclass(frozen=True, slots=True)
class CallExitedQueue:
    """The caller left the queue unanswered without hanging up (timeout, empty, key)."""

    pbx: str
    at: datetime
    call_key: str
    queue: str
    reason: ExitReason
    wait_s: float
    position: int


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """A queue member's state in one queue; `paused` is kept apart from `state`
    because an agent can be paused and still finishing a call."""

    pbx: str
    at: datetime
    queue: str
    interface: str
    member_name: str
    state: AgentState
    paused: bool
    reason: str


@dataclass(frozen=True, slots=True)
class MemberAdded:
    """An interface became a member of a queue."""

    pbx: str
    at: datetime
    queue: str
    interface: str
    member_name: str
    state: AgentState
    paused: bool
    reason: str


@dataclass(frozen=True, slots=True)
class MemberRemoved:
    """An interface stopped being a member of a queue."""

    pbx: str
    at: datetime
    queue: str
    interface: str
    member_name: str


@dataclass(frozen=True, slots=True)
class WaitingCaller:
    """A caller still waiting in a queue when the snapshot was taken."""

    call_key: str
    queue: str
    uniqueid: str
    caller_number: str
    caller_name: str
    position: int
    wait_s: float


@dataclass(frozen=True, slots=True)
class ConnectedCall:
    """A queue call talking to an agent when the snapshot was taken."""

    call_key: str
    queue: str
    uniqueid: str
    linkedid: str
    caller_number: str
    caller_name: str
    interface: str
    member_name: str
    talking_s: float


@dataclass(frozen=True, slots=True)
class MemberSnapshot:
    """A queue member as QueueStatus reported it."""

    queue: str
    interface: str
    member_name: str
    state: AgentState
    paused: bool
    reason: str


@dataclass(frozen=True, slots=True)
class PbxSnapshot:
    """The PBX's truth after a (re)connect, used to reconcile what was missed."""

    pbx: str
    at: datetime
    waiting: tuple[WaitingCaller, ...]
    connected: tuple[ConnectedCall, ...]
    members: tuple[MemberSnapshot, ...]


@dataclass(frozen=True, slots=True)
class LinkUp:
    """The AMI link is logged in; a PbxSnapshot follows once resync is done."""

    pbx: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LinkDown:
    """The AMI link is gone; events until the next LinkUp are lost."""

    pbx: str
    at: datetime
    why: str


CallEvent: TypeAlias = (
    CallQueued
    | AgentRinging
    | RingNoAnswer
    | CallAnswered
    | CallHeld
    | CallResumed
    | CallTransferred
    | CallEnded
    | CallAbandoned
    | CallExitedQueue
)


@dataclass(frozen=True, slots=True)
class CallbackRequested:
    """The queue's overflow asked for a call back (the dialplan's UserEvent CallbackRequest).

    `number` is the caller's own CALLERID(num): untrusted text, validated before dialling.
    """

    pbx: str
    at: datetime
    queue: str
    number: str
    uniqueid: str
    call_key: str


MemberEvent: TypeAlias = AgentStateChanged | MemberAdded | MemberRemoved
LinkEvent: TypeAlias = LinkUp | LinkDown | PbxSnapshot
TelephonyEvent: TypeAlias = CallEvent | MemberEvent | LinkEvent | CallbackRequested

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

HungUpBy: TypeAlias = Literal["caller", "agent", "supervisor", "transfer", "system"]
# How a caller left a queue unanswered and alive: the dialplan's QUEUESTATUS (timeout, full,
# empty), a key pressed (exit by key), or moved away by a Redirect.
ExitReason: TypeAlias = Literal["timeout", "full", "empty", "key", "redirected", "unknown"]
TransferKind: TypeAlias = Literal["blind", "attended"]
# Where a transferred caller went: another agent's phone, back into a queue, or a number
# outside reached through a trunk; unknown until what follows the transfer says.
TransferDestination: TypeAlias = Literal["agent", "queue", "outside", "unknown"]
# How a supervisor joins an agent's call (ChanSpy): hear only, speak to the agent only, or
# speak to both.
SpyMode: TypeAlias = Literal["listen", "whisper", "barge"]
AgentState: TypeAlias = Literal[
    "ready", "ringing", "in_call", "paused", "unavailable", "logged_out"
]


def make_call_key(pbx: str, queue: str, uniqueid: str, visit: int = 1) -> str:
    """Build the call key the same way everywhere (translator, resync, tests).

    `visit` counts the caller's queue calls: one transferred back into a queue (the same
    channel, the same Uniqueid) is a new queue call, so its key gets the visit number.
    """
    base = f"{pbx}/{queue}/{uniqueid}"
    return base if visit <= 1 else f"{base}#{visit}"


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
    came_from: str = ""
    """The call_key of the queue call this caller was transferred (or sent back) from."""


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
    agent_channel: str = ""
    """The ringing leg's channel name (`PJSIP/agent101-00000028`): what AMI Hangup takes."""


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
    agent_channel: str = ""
    """The answering leg's channel name: what AMI Hangup, BlindTransfer and Atxfer take."""
    caller_channel: str = ""
    """The caller's channel, which the call's recording (MixMonitor) runs on."""


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
    """The agent handed the call on; `target` is the extension or number dialled.

    `destination` and `party` (the agent's interface, the queue, the outside number) are
    known at once for an attended transfer (the consultation dialled them); for a blind one
    a TransferReached follows when the caller's channel gets there.
    """

    pbx: str
    at: datetime
    call_key: str
    queue: str
    interface: str
    target: str
    kind: TransferKind = "blind"
    destination: TransferDestination = "unknown"
    party: str = ""


@dataclass(frozen=True, slots=True)
class TransferReached:
    """Where a blind-transferred caller arrived: an agent's phone rang, an outside number
    was dialled, or the caller joined a queue again (that new queue call names this one
    in `CallQueued.came_from`)."""

    pbx: str
    at: datetime
    call_key: str
    queue: str
    destination: TransferDestination
    party: str


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
    """The caller left the queue unanswered without hanging up (timeout, full, empty, key,
    a Redirect away), or was cut by the PBX stopping."""

    pbx: str
    at: datetime
    call_key: str
    queue: str
    reason: ExitReason
    wait_s: float
    position: int
    key: str = ""
    """The digit pressed, for an exit by key."""
    hung_up_by: HungUpBy | None = None
    """"system" for a waiting caller cut by a PBX shutdown or restart; None otherwise."""


@dataclass(frozen=True, slots=True)
class OutboundCallEnded:
    """An agent's call out through a trunk (click-to-call a citizen back) is over.

    Never a queue call: hotline stores it as an outbound call, linked to its case by
    `callback` (the channel variable HOTLINE_CALLBACK the Originate set; '' when the agent
    dialled by hand). `interface` is the agent's phone, `number` what was dialled;
    `dialled_at` is when the trunk was dialled (the agent had answered), `answered_at` when
    the citizen answered (None when they did not), `at` the hang-up.
    """

    pbx: str
    at: datetime
    uniqueid: str
    interface: str
    number: str
    callback: str
    dialled_at: datetime
    answered_at: datetime | None

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def talk_s(self) -> float:
        """Citizen's answer -> hang-up (0 when unanswered)."""
        if self.answered_at is None:
            return 0.0
        return max(0.0, (self.at - self.answered_at).total_seconds())


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
    caller_age_s: float = 0.0
    """How long the caller's channel has existed: the join was at most that long ago
    (with the shipped dialplan, Answer() then Queue(), less than a second after it)."""


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
    | TransferReached
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


@dataclass(frozen=True, slots=True)
class SpyStarted:
    """A supervisor's phone began hearing an agent's channel (ChanSpyStart).

    `spyer_uniqueid` is the supervisor's leg (the Originate's ChannelId), `call_key` the queue
    call the spied channel belongs to ('' when it is none hotline follows), `interface` the
    spied agent's phone; `mode` as the Originate asked (None for a ChanSpy hotline did not
    originate, e.g. one dialled from a phone).
    """

    pbx: str
    at: datetime
    spyer_uniqueid: str
    spyer_channel: str
    spyee_channel: str
    interface: str
    call_key: str
    mode: SpyMode | None


@dataclass(frozen=True, slots=True)
class SpyEnded:
    """The supervisor's leg stopped spying (ChanSpyStop, or its Hangup without one).

    `by` "supervisor" when the supervisor's leg was hung up first (their phone, or an AMI
    Hangup), "call" when ChanSpy left because the spied channel was gone (option E).
    """

    pbx: str
    at: datetime
    spyer_uniqueid: str
    call_key: str
    by: Literal["supervisor", "call"]


SpyEvent: TypeAlias = SpyStarted | SpyEnded


@dataclass(frozen=True, slots=True)
class RecordingStarted:
    """MixMonitor runs on the caller's channel of this call (MixMonitorStart)."""

    pbx: str
    at: datetime
    call_key: str


@dataclass(frozen=True, slots=True)
class RecordingMuted:
    """MixMonitorMute: `muted` True while the recording keeps silence (an ID being read)."""

    pbx: str
    at: datetime
    call_key: str
    muted: bool


@dataclass(frozen=True, slots=True)
class RecordingStopped:
    """StopMixMonitor ended the recording. A hang-up ends it without this event: the
    call's end closes the recording then."""

    pbx: str
    at: datetime
    call_key: str


@dataclass(frozen=True, slots=True)
class RecordingNoticePlayed:
    """The dialplan played the recording notice before Queue() (UserEvent RecordingNotice).

    Sent before the caller joins: `call_key` is the queue call this caller's join makes.
    """

    pbx: str
    at: datetime
    call_key: str
    language: str


RecordingEvent: TypeAlias = (
    RecordingStarted | RecordingMuted | RecordingStopped | RecordingNoticePlayed
)
MemberEvent: TypeAlias = AgentStateChanged | MemberAdded | MemberRemoved
LinkEvent: TypeAlias = LinkUp | LinkDown | PbxSnapshot
TelephonyEvent: TypeAlias = (
    CallEvent
    | OutboundCallEnded
    | MemberEvent
    | LinkEvent
    | CallbackRequested
    | SpyEvent
    | RecordingEvent
)

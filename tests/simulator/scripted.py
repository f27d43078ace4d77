"""Replay a capture's scenario against the simulator: the recorder's own actions at their
own times over AMI, the phones' part through the control API, then compare what came back.
"""

from __future__ import annotations

import asyncio
import difflib
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from pbxsim import PbxSimulator
from telephony.ami.capture import read_capture
from telephony.ami.protocol import AmiMessage, FrameParser
from tests.fixtures import AMI_TRACES

from .conftest import AmiClient
from .sequences import captured_events, deterministic_values, keys

# The events a client acts on in the dynamic-member / transfer captures.
SHIFT_EVENTS = {
    "QueueMemberAdded",
    "QueueMemberRemoved",
    "QueueMemberPause",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "AgentRingNoAnswer",
    "BlindTransfer",
    "UserEvent",
}
SESSION = ("Login", "Logoff")


@dataclass(frozen=True)
class Step:
    """Something the phones did at capture time `at` (epoch seconds)."""

    at: float
    run: Callable[[], Awaitable[object]]


def capture_start(name: str) -> float:
    for item in read_capture(AMI_TRACES / name):
        if item.at is not None:
            return item.at.timestamp()
    raise LookupError(name)


def first_events(name: str, event: str, endpoint: str) -> list[tuple[float, AmiMessage]]:
    """Each channel of `endpoint`'s first `event` (e.g. a caller's Newchannel), timed."""
    out: list[tuple[float, AmiMessage]] = []
    seen: set[str] = set()
    parser = FrameParser()
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    for item in read_capture(AMI_TRACES / name):
        if item.kind != "rx" or item.is_banner or item.at is None:
            continue
        for message in parser.feed(item.data):
            channel = message.get("Channel") or ""
            if message.name == event and channel.startswith(endpoint) and channel not in seen:
                seen.add(channel)
                out.append((item.at.timestamp(), message))
    return out


def recorder_actions(name: str) -> list[tuple[float, list[tuple[str, str]]]]:
    """The actions the recorder sent (not Login/Logoff), with the time each was sent."""
    out: list[tuple[float, list[tuple[str, str]]]] = []
    for item in read_capture(AMI_TRACES / name):
        if item.kind != "tx" or item.at is None:
            continue
        pairs = [
            (k, v)
            for k, _, v in (line.partition(": ") for line in item.data.decode().split("\r\n"))
            if k
        ]
        if pairs and pairs[0][1] not in SESSION:
            out.append((item.at.timestamp(), pairs))
    return out


async def run_script(
    sim: PbxSimulator,
    client: AmiClient,
    name: str,
    steps: Iterable[Step],
    *,
    skip: Callable[[list[tuple[str, str]]], bool] = lambda pairs: False,
) -> list[AmiMessage]:
    """Send the capture's actions and run `steps`, each at its time; return all received."""
    timeline: list[tuple[float, Callable[[], Awaitable[object]]]] = [(s.at, s.run) for s in steps]
    for at, pairs in recorder_actions(name):
        if not skip(pairs):
            timeline.append((at, _sender(client, pairs)))
    started = []
    for at, run in sorted(timeline, key=lambda item: item[0]):
        await sim.clock.sleep(at - sim.clock.now())
        started.append(asyncio.ensure_future(run()))
    await asyncio.gather(*started)
    await sim.clock.sleep(1.0)
    received: list[AmiMessage] = []
    try:
        while True:
            received.append(await client.next(wait=0.5))
    except TimeoutError:
        return received


def _sender(client: AmiClient, pairs: list[tuple[str, str]]) -> Callable[[], Awaitable[None]]:
    async def send() -> None:
        action, *fields = pairs
        client.send(action[1], **dict(fields))

    return send


def responses(messages: Iterable[AmiMessage]) -> list[tuple[str, str, str]]:
    return [
        (m.action_id or "", m.get("Response") or "", m.get("Message") or "")
        for m in messages
        if "Response" in m and (m.action_id or "") and not m.action_id.startswith("login")
    ]


def captured_responses(name: str) -> list[tuple[str, str, str]]:
    from .conftest import capture_messages

    return [r for r in responses(capture_messages(name)) if r[1] not in ("Goodbye",)][1:]


def of_kinds(messages: Iterable[AmiMessage], kinds: set[str]) -> list[AmiMessage]:
    return [m for m in messages if m.name in kinds and "Response" not in m]


def summary(message: AmiMessage) -> tuple[str, ...]:
    """What a client decides on: the event, whose channel, and its deciding fields."""
    fields = ("Interface", "Paused", "PausedReason", "Reason", "Status", "Digit", "Cause")
    channel = re.sub(r"-[0-9a-f]{8}$", "", message.get("Channel") or "")
    return (message.name or "", channel, *(message.get(f) or "" for f in fields))


def assert_like_capture(mine: list[AmiMessage], name: str, kinds: set[str] = SHIFT_EVENTS) -> None:
    """Same events of `kinds` in the same order, each with the capture's field names."""
    real, mine = captured_events(name), list(mine)
    got, real_kinds = of_kinds(mine, kinds), of_kinds(real, kinds)
    ours, theirs = [summary(m) for m in got], [summary(m) for m in real_kinds]
    assert ours == theirs, "\n".join(
        difflib.unified_diff([str(s) for s in theirs], [str(s) for s in ours], lineterm="")
    )
    for a, b in zip(got, real_kinds, strict=True):
        assert keys(a) == keys(b), a.name
    for a, b in zip(got, real_kinds, strict=True):
        if a.name in ("QueueMemberAdded", "QueueMemberPause", "QueueMemberRemoved"):
            assert deterministic_values(a) == deterministic_values(b), (a, b)
    # Which of two legs Asterisk reports hung up first varies from call to call.
    hangups = [sorted(summary(m) for m in of_kinds(x, {"Hangup"})) for x in (mine, real)]
    assert hangups[0] == hangups[1]

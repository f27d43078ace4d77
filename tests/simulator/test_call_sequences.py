"""Generated queue-call sequences against the real Asterisk 22 captures."""

from __future__ import annotations

import asyncio
import re

from pbxsim import AgentPhone, PbxSimulator
from telephony.ami.protocol import AmiMessage

from .sequences import (
    SIGNIFICANT,
    capture_epoch,
    captured_events,
    deterministic_values,
    generated,
    keys,
    names,
)

CALLER = ("15550101", "Customer 15550101")


def _normalise(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Channel sequence numbers differ between a fresh simulator and a long-running PBX."""
    return [(k, re.sub(r"-[0-9a-f]{8}\b", "-N", v)) for k, v in pairs]


def assert_same_fields(gen: list[AmiMessage], cap: list[AmiMessage]) -> None:
    """Every generated event has the field names, in order, of a captured event of its kind."""
    shapes: dict[str, set[tuple[str, ...]]] = {}
    for message in cap:
        shapes.setdefault(message.name or "", set()).add(tuple(keys(message)))
    for message in gen:
        if message.name in shapes:
            assert tuple(keys(message)) in shapes[message.name or ""], message


def assert_significant_match(gen: list[AmiMessage], cap: list[AmiMessage]) -> None:
    g = [m for m in gen if m.name in SIGNIFICANT]
    c = [m for m in cap if m.name in SIGNIFICANT]
    assert names(g) == names(c)
    for mine, real in zip(g, c, strict=True):
        assert keys(mine) == keys(real)
        assert _normalise(deterministic_values(mine)) == _normalise(deterministic_values(real))


def _lab(capture: str, first_agent: int = 101, shift: float = 0.0) -> PbxSimulator:
    # Start the clock where the capture's caller arrived: whole-second durations then match.
    # `shift` moves it away from a second boundary that scheduling jitter could cross.
    sim = PbxSimulator.lab(speed=10.0, epoch=capture_epoch(capture) + shift)
    # rrmemory: make the agent the capture shows ring first.
    previous = 103 if first_agent == 101 else first_agent - 1
    sim.core.queues["hotline"].start_after(f"PJSIP/agent{previous}")
    return sim


async def test_answered_call_is_the_capture_event_for_event() -> None:
    sim = _lab("answered-call.txt")
    async with sim:
        call = await sim.place_call("hotline", *CALLER)
        await call.connected.wait()
        await sim.clock.sleep(3.0)
        await sim.hangup(call, by="caller")
    gen, cap = generated(sim.events), captured_events("answered-call.txt")
    assert names(gen) == names(cap)
    for mine, real in zip(gen, cap, strict=True):
        assert keys(mine) == keys(real), mine.name
        assert deterministic_values(mine) == deterministic_values(real), mine.name


async def test_agent_hangs_up_matches_capture() -> None:
    sim = _lab("agent-hangs-up.txt", first_agent=102)
    async with sim:
        call = await sim.place_call("hotline", *CALLER)
        await call.connected.wait()
        await sim.clock.sleep(3.0)
        await sim.hangup(call, by="agent")
    gen, cap = generated(sim.events), captured_events("agent-hangs-up.txt")
    assert_significant_match(gen, cap)
    assert_same_fields(gen, cap)
    complete = [m for m in gen if m.name == "AgentComplete"]
    assert [(m["Reason"], m["TalkTime"], m["HoldTime"]) for m in complete] == [("agent", "3", "2")]


async def test_abandoned_call_matches_capture() -> None:
    sim = _lab("abandoned-call.txt", first_agent=103)
    sim.set_default_agent_phone(AgentPhone.manual())
    async with sim:
        call = await sim.place_call("hotline", *CALLER)
        await sim.clock.sleep(5.5)
        await sim.abandon(call)
    gen, cap = generated(sim.events), captured_events("abandoned-call.txt")
    assert_significant_match(gen, cap)
    assert_same_fields(gen, cap)
    order = [m.name for m in gen if m.name in ("QueueCallerAbandon", "QueueCallerLeave")]
    assert order == ["QueueCallerAbandon", "QueueCallerLeave"]
    causes = [m["Cause"] for m in gen if m.name == "Hangup"]
    assert causes == ["0", "0"]
    assert call.outcome == "abandoned"


async def test_ring_no_answer_retries_the_next_member() -> None:
    sim = _lab("ring-no-answer.txt", shift=-0.4)
    sim.set_agent_phone("PJSIP/agent101", AgentPhone.never_answers())
    async with sim:
        call = await sim.place_call("hotline", *CALLER)
        await call.connected.wait()
        await sim.clock.sleep(3.75)  # mid-second: TalkTime 4 as captured, jitter-proof
        await sim.hangup(call)
    gen, cap = generated(sim.events), captured_events("ring-no-answer.txt")
    assert_significant_match(gen, cap)
    assert_same_fields(gen, cap)
    rna = next(m for m in gen if m.name == "AgentRingNoAnswer")
    assert rna["RingTime"] == "15000"
    connect = next(m for m in gen if m.name == "AgentConnect")
    assert connect["Interface"] == "PJSIP/agent102"
    assert (connect["HoldTime"], connect["RingTime"]) == ("19", "2")
    cdrs = [m for m in gen if m.name == "Cdr"]
    assert [m["Disposition"] for m in cdrs] == ["NO ANSWER", "ANSWERED"]


async def test_busy_queue_callers_wait_then_get_agents_in_order() -> None:
    sim = PbxSimulator.lab(speed=5.0, epoch=capture_epoch("all-agents-busy-queue-wait.txt") - 0.3)
    sim.set_default_agent_phone(AgentPhone.answers_after(1.1))

    async def caller(number: str, talk: float) -> None:
        call = await sim.place_call("hotline", number, f"Customer {number}")
        await call.connected.wait()
        await sim.clock.sleep(talk - (sim.clock.now() - call.caller.answered))  # type: ignore[operator]
        await sim.hangup(call)

    async with sim:
        tasks = []
        for i, number in enumerate(("15550101", "15550102", "15550103")):
            tasks.append(asyncio.create_task(caller(number, 9.0)))
            await sim.clock.sleep(0.5 if i < 2 else 1.4)
        for number in ("15550201", "15550202"):
            tasks.append(asyncio.create_task(caller(number, 14.0)))
            await sim.clock.sleep(0.5)
        await asyncio.gather(*tasks)
    queue_events = ("QueueCallerJoin", "QueueCallerLeave", "AgentConnect")

    def summary(messages: list[AmiMessage]) -> list[tuple[str, str, str, str]]:
        return [
            (m.name or "", m["CallerIDNum"], m.get("Position") or "", m.get("Count") or "")
            for m in messages
            if m.name in queue_events
        ]

    def holdtimes(messages: list[AmiMessage]) -> list[int]:
        return [int(m["HoldTime"]) for m in messages if m.name == "AgentConnect"]

    gen, cap = generated(sim.events), captured_events("all-agents-busy-queue-wait.txt")
    assert summary(gen) == summary(cap)
    # Whole-second truncation of accelerated time may move a boundary by one second.
    for mine, real in zip(holdtimes(gen), holdtimes(cap), strict=True):
        assert abs(mine - real) <= 1
    assert_same_fields(gen, cap)

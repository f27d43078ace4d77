"""Hold, transfer, manual answer, and the traffic generator."""

from __future__ import annotations

import pytest

from pbxsim import AgentPhone, PbxSimulator
from pbxsim.__main__ import build_parser
from pbxsim.generator import TrafficGenerator, TrafficProfile
from pbxsim.model import trim

from .sequences import generated, names


async def test_hold_and_unhold_on_the_agent_channel(lab: PbxSimulator) -> None:
    call = await lab.place_call("hotline", "0812345678", "Somchai")
    await call.connected.wait()
    await lab.hold(call)
    await lab.unhold(call)
    await lab.hangup(call)
    events = generated(lab.events)
    hold = next(m for m in events if m.name == "Hold")
    unhold = next(m for m in events if m.name == "Unhold")
    assert hold["Channel"] == unhold["Channel"] == call.attempts[-1].agent.name
    assert hold["Linkedid"] == call.uniqueid
    moh = [m for m in events if m.name in ("MusicOnHoldStart", "MusicOnHoldStop")]
    moh = [m for m in moh if m["Channel"] == call.caller.name]
    assert names(moh)[-2:] == ["MusicOnHoldStart", "MusicOnHoldStop"]
    statuses = [m["Status"] for m in events if m.name == "QueueMemberStatus"]
    assert statuses[-3:] == ["8", "2", "1"]


async def test_blind_transfer_completes_with_reason_transfer(lab: PbxSimulator) -> None:
    call = await lab.place_call("hotline", "0812345678", "Somchai")
    await call.connected.wait()
    await lab.transfer(call, "1662", "from-internal")
    events = generated(lab.events)
    order = [m.name for m in events if m.name in ("BlindTransfer", "AgentComplete")]
    assert order == ["BlindTransfer", "AgentComplete"]
    transfer = next(m for m in events if m.name == "BlindTransfer")
    assert (transfer["Extension"], transfer["TransfereeUniqueid"]) == ("1662", call.uniqueid)
    order = [k for k, _ in transfer]
    assert order[2:4] == ["Result", "TransfererChannel"]
    assert order[-3:] == ["IsExternal", "Context", "Extension"]
    assert order.index("TransfereeLinkedid") < order.index("BridgeUniqueid")
    complete = next(m for m in events if m.name == "AgentComplete")
    assert complete["Reason"] == "transfer"
    await lab.hangup(call)
    assert call.outcome == "transferred"
    assert generated(lab.events)[-1].name in ("Cdr", "DeviceStateChange")


async def test_manual_answer_and_agent_cannot_hang_up_a_ringing_call(lab: PbxSimulator) -> None:
    lab.set_agent_phone("PJSIP/agent101", AgentPhone.manual())
    call = await lab.place_call("hotline", "0812345678", "")
    with pytest.raises(RuntimeError):
        await lab.hangup(call, by="agent")
    answered = await lab.answer("PJSIP/agent101")
    assert answered is call and call.state == "connected"
    with pytest.raises(LookupError):
        await lab.answer("PJSIP/agent101")
    await lab.hangup(call, by="agent")
    complete = next(m for m in generated(lab.events) if m.name == "AgentComplete")
    assert complete["Reason"] == "agent"
    assert call.caller.caller_name == "0812345678"


async def test_paused_member_is_skipped(lab: PbxSimulator) -> None:
    lab.pause("PJSIP/agent101", True, "Lunch")
    call = await lab.place_call("hotline", "0812345678", "Somchai")
    await call.connected.wait()
    assert call.attempts[0].member.interface == "PJSIP/agent102"
    await lab.hangup(call)


async def test_untrusted_caller_text_never_breaks_the_wire(lab: PbxSimulator) -> None:
    call = await lab.place_call("hotline", "08\r\nEvent: Fake", "Eve\r\n\r\nAction: Logoff")
    join = next(m for m in generated(lab.events) if m.name == "QueueCallerJoin")
    assert "\n" not in join["CallerIDName"] and join.getall("Event") == ["QueueCallerJoin"]
    await lab.abandon(call)


async def _traffic(seed: int) -> tuple[list[str], dict[str, int]]:
    sim = PbxSimulator.lab(speed=200.0)
    profile = TrafficProfile(rate=0.5, talk_mean=20.0, patience_mean=15.0, hold_ratio=0.3)
    async with sim:
        generator = TrafficGenerator(sim, profile=profile, seed=seed)
        await generator.run(calls=12)
    outcomes: dict[str, int] = {}
    for call in sim.calls:
        outcomes[call.outcome or "open"] = outcomes.get(call.outcome or "open", 0) + 1
    return [c.caller.caller_num for c in sim.calls], outcomes


async def test_generator_is_reproducible_and_varied() -> None:
    numbers, outcomes = await _traffic(seed=7)
    again, _ = await _traffic(seed=7)
    other, _ = await _traffic(seed=8)
    assert sorted(numbers) == sorted(again)
    assert sorted(numbers) != sorted(other)
    assert sum(outcomes.values()) == 12 and "open" not in outcomes
    assert outcomes.get("answered", 0) >= 1


def test_cli_parses_the_documented_options() -> None:
    argv = "--ami-port 5038 --agi-host 10.0.0.5 --generate --rate 0.5 --agents 3 --seed 1"
    args = build_parser().parse_args(argv.split())
    assert (args.ami_port, args.agi_host, args.generate, args.rate) == (5038, "10.0.0.5", True, 0.5)
    assert (args.survey_keys, args.incall_survey, args.pbx_name) == ("5", False, "main")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--replay", "x.txt", "--generate"])


async def test_wait_for_event_sees_past_and_future_events(lab: PbxSimulator) -> None:
    call = await lab.place_call("hotline", "0812345678", "Somchai")
    join = await lab.wait_for_event("QueueCallerJoin", Uniqueid=call.uniqueid)
    assert join["Position"] == "1"
    connect = await lab.wait_for_event("AgentConnect", Uniqueid=call.uniqueid)
    assert connect["Interface"] == "PJSIP/agent101"
    await lab.hangup(call)


def test_trim_forgets_only_the_oldest_finished_items() -> None:
    items = list(range(10))
    trim(items, lambda i: i % 2 == 0, keep=6)
    assert items == [1, 3, 5, 7, 8, 9]
    trim(items, lambda i: True, keep=4)
    assert items == [5, 7, 8, 9]


async def test_declined_ring_goes_to_the_next_agent(lab: PbxSimulator) -> None:
    lab.set_default_agent_phone(AgentPhone.manual())
    call = await lab.place_call("hotline", "0812345678", "Somchai")
    await lab.wait_for_event("AgentCalled", Interface="PJSIP/agent101")
    await lab.clock.sleep(3.0)
    lab.decline("PJSIP/agent101")
    rna = await lab.wait_for_event("AgentRingNoAnswer", Interface="PJSIP/agent101")
    assert 3000 <= int(rna["RingTime"]) < 15000
    await lab.wait_for_event("AgentCalled", Interface="PJSIP/agent102")
    await lab.answer("PJSIP/agent102")
    await lab.hangup(call)
    assert [a.member.interface for a in call.attempts] == ["PJSIP/agent101", "PJSIP/agent102"]


async def test_a_failing_background_task_is_logged_not_lost() -> None:
    from structlog.testing import capture_logs

    from pbxsim.tasks import BackgroundTasks

    async def boom() -> None:
        raise ValueError("broken flow")

    tasks = BackgroundTasks("test")
    with capture_logs() as logs:
        tasks.spawn(boom())
        await tasks.join()
    assert [entry["event"] for entry in logs] == ["sim_task_failed"]
    await tasks.close()

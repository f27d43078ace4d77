"""Queue and channel actions answered from the live state, shaped like the captures."""

from __future__ import annotations

from pbxsim import AgentPhone, PbxSimulator
from telephony.ami.protocol import AmiMessage

from .conftest import AmiClient, capture_messages
from .sequences import keys

A101 = "PJSIP/agent101"


def _responses(capture: str, action_id: str) -> list[AmiMessage]:
    return [m for m in capture_messages(capture) if m.action_id == action_id]


async def _ask(client: AmiClient, action: str, action_id: str, **fields: str) -> list[AmiMessage]:
    client.send(action, ActionID=action_id, **fields)
    seen = await client.until(
        lambda m: (
            m.action_id == action_id
            and (m.get("EventList") == "Complete" or ("Response" in m and "EventList" not in m))
        )
    )
    return [m for m in seen if m.action_id == action_id]


async def _three_talking_one_waiting(sim: PbxSimulator) -> None:
    for number in ("15550101", "15550102", "15550103"):
        call = await sim.place_call("hotline", number, f"Customer {number}")
        await call.connected.wait()
    await sim.place_call("hotline", "15550201", "Customer 15550201")


async def test_snapshot_lists_have_the_captures_shape(lab: PbxSimulator, client: AmiClient) -> None:
    lab.set_default_agent_phone(AgentPhone.answers_after(0.5))
    await _three_talking_one_waiting(lab)
    for action, real_id, extra in (
        ("QueueStatus", "queue-status-snapshot-2", {"Queue": "hotline"}),
        ("QueueStatus", "queue-status-snapshot-5", {}),
        ("QueueSummary", "queue-status-snapshot-3", {"Queue": "hotline"}),
        ("CoreShowChannels", "queue-status-snapshot-4", {}),
    ):
        mine = await _ask(client, action, real_id, **extra)
        real = _responses("queue-status-snapshot.txt", real_id)
        assert [m.name for m in mine] == [m.name for m in real], action
        assert [keys(m) for m in mine] == [keys(m) for m in real], action
        assert mine[-1]["ListItems"] == real[-1]["ListItems"]
        if action == "QueueStatus":
            entry = next(m for m in mine if m.name == "QueueEntry")
            assert (entry["CallerIDNum"], entry["ConnectedLineNum"]) == ("15550201", "unknown")
            members = [m for m in mine if m.name == "QueueMember"]
            assert {(m["Status"], m["InCall"]) for m in members} == {("2", "1")}
        if action == "QueueSummary":
            summary = mine[1]
            counts = (summary["LoggedIn"], summary["Available"], summary["Callers"])
            assert counts == ("3", "0", "1")
        if action == "CoreShowChannels":
            apps = sorted(m["Application"] for m in mine if m.name == "CoreShowChannel")
            assert apps == ["AppQueue"] * 3 + ["Queue"] * 4
            bridged = [m["BridgeId"] for m in mine if m.name == "CoreShowChannel" and m["BridgeId"]]
            assert len(bridged) == 6 and len(set(bridged)) == 3


async def test_pause_messages_and_events_match_member_pause_capture(
    lab: PbxSimulator, client: AmiClient
) -> None:
    real = capture_messages("member-pause.txt")
    mine: list[AmiMessage] = []
    steps = [
        {"Interface": A101, "Queue": "hotline", "Paused": "true", "Reason": "Lunch break"},
        {"Interface": A101, "Queue": "hotline", "Paused": "false"},
        {"Interface": "PJSIP/agent102", "Paused": "true", "Reason": "Training"},
        {"Interface": "PJSIP/agent102", "Paused": "false"},
    ]
    for i, fields in enumerate(steps):
        client.send("QueuePause", ActionID=f"p{i}", **fields)
        mine += await client.until(lambda m: m.name == "QueueMemberPause")
    client.send("QueuePause", ActionID="p9", Interface="PJSIP/agent9", Paused="1", Queue="hotline")
    mine += await client.until(lambda m: m.action_id == "p9")
    skipped = ("QueueParams", "QueueMember", "QueueStatusComplete")
    real_part = [m for m in real[3:] if m.name not in skipped and "EventList" not in m]
    real_part = [m for m in real_part if m.get("Response") != "Goodbye"]
    assert [keys(m) for m in mine] == [keys(m) for m in real_part]
    assert [m.get("Message") for m in mine] == [m.get("Message") for m in real_part]
    pauses = [m for m in mine if m.name == "QueueMemberPause"]
    assert [(m["Paused"], m["PausedReason"]) for m in pauses] == [
        ("1", "Lunch break"),
        ("0", ""),
        ("1", "Training"),
        ("0", ""),
    ]


async def test_add_remove_messages_match_capture(lab: PbxSimulator, client: AmiClient) -> None:
    real = capture_messages("member-add-remove.txt")[3:-1]
    add = {"Queue": "hotline", "Interface": "PJSIP/agent104", "Penalty": "1", "Paused": "false"}
    mine: list[AmiMessage] = []
    client.send("QueueAdd", ActionID="a1", MemberName="Agent 104", **add)
    mine += await client.until(lambda m: m.name == "QueueMemberAdded")
    client.send("QueueAdd", ActionID="a2", MemberName="Agent 104", **add)
    mine += await client.until(lambda m: m.action_id == "a2")
    mine += await _ask(client, "QueueStatus", "a3", Queue="hotline")
    client.send("QueueRemove", ActionID="a4", Queue="hotline", Interface="PJSIP/agent104")
    mine += await client.until(lambda m: m.name == "QueueMemberRemoved")
    client.send("QueueRemove", ActionID="a5", Queue="hotline", Interface="PJSIP/agent101")
    mine += await client.until(lambda m: m.action_id == "a5")
    assert [m.name for m in mine] == [m.name for m in real]
    assert [keys(m) for m in mine] == [keys(m) for m in real]
    assert [m.get("Message") for m in mine] == [m.get("Message") for m in real]
    added = next(m for m in mine if m.name == "QueueMemberAdded")
    assert (added["Membership"], added["Penalty"]) == ("dynamic", "1")
    assert added["MemberName"] == "Agent 104"
    client.send("QueueRemove", ActionID="a6", Queue="hotline", Interface="PJSIP/agent104")
    reply = (await client.until(lambda m: m.action_id == "a6"))[-1]
    assert reply["Message"] == "Unable to remove interface: Not there"


async def test_hangup_action_ends_a_queue_call(lab: PbxSimulator, client: AmiClient) -> None:
    lab.set_default_agent_phone(AgentPhone.manual())
    call = await lab.place_call("hotline", "0812345678", "Somchai")
    client.send("Hangup", ActionID="h1", Channel=call.caller.name)
    reply = (await client.until(lambda m: m.action_id == "h1"))[-1]
    assert reply["Message"] == "Channel Hungup"
    await call.ended.wait()
    assert call.outcome == "abandoned"
    client.send("Hangup", ActionID="h2", Channel="PJSIP/nobody-00000099")
    reply = (await client.until(lambda m: m.action_id == "h2"))[-1]
    assert (reply["Response"], reply["Message"]) == ("Error", "No such channel")


async def test_the_lowest_penalty_is_rung_first_whatever_the_round_robin_says() -> None:
    async with PbxSimulator.lab(agents=0, speed=50.0) as sim:
        client = await AmiClient.connect(*sim.address)
        await client.login()
        for interface, penalty in (("PJSIP/agent101", "2"), ("PJSIP/agent102", "0")):
            replies = await client.ask(
                "QueueAdd",
                f"add-{interface}",
                Queue="hotline",
                Interface=interface,
                Penalty=penalty,
                MemberName=interface,
            )
            assert replies[-1]["Message"] == "Added interface to queue"
        sim.core.queues["hotline"].start_after("PJSIP/agent102")  # rrmemory alone would say 101
        call = await sim.place_call("hotline", "0811000001", "Penalty Caller")
        called = await sim.wait_for_event("AgentCalled", Uniqueid=call.uniqueid)
        assert called["Interface"] == "PJSIP/agent102"
        await client.close()

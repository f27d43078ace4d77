"""AMI Atxfer cancelled by the consulted agent: the caller is back with the first agent."""

from __future__ import annotations

from pbxsim import PbxSimulator
from telephony.ami.protocol import AmiMessage

from .conftest import AmiClient


async def test_the_consulted_agent_hanging_up_cancels_the_transfer() -> None:
    async with PbxSimulator.shipped(speed=20.0, channelvars=()) as sim:
        for n in (101, 102):
            sim.add_member("hotline", f"PJSIP/agent{n}", f"Agent {n}")
        client = await AmiClient.connect(*sim.address)
        await client.login()
        call = await sim.place_call("hotline", "0811000001", "Attended Caller")
        await call.connected.wait()
        agent = call.agent
        assert agent is not None and agent.name.startswith("PJSIP/agent101")
        replies = await client.ask(
            "Atxfer", "atx-1", Channel=agent.name, Exten="2102", Context="from-agents"
        )
        assert replies[-1]["Message"] == "Atxfer successfully queued"

        def consulted(m: AmiMessage) -> bool:
            return m.get("DialStatus") == "ANSWER" and m["DestChannel"].startswith("PJSIP/agent102")

        answered = await sim.wait_for_event("DialEnd", where=consulted)
        assert sim.hang_up_channel(answered["DestChannel"])
        await sim.wait_for_event("Unhold", Channel=agent.name)
        await sim.wait_for_event("MusicOnHoldStop", Channel=call.caller.name)
        assert call.state == "connected" and not call.consulting
        assert not any(m.name == "AttendedTransfer" for m in map(AmiMessage, sim.events))
        await sim.hangup(call, by="agent")
        complete = await sim.wait_for_event("AgentComplete", Uniqueid=call.uniqueid)
        assert complete["Reason"] == "agent"
        await client.close()


async def test_without_an_atxfer_code_asterisk_refuses() -> None:
    async with PbxSimulator.shipped(speed=20.0, atxfer_code=None) as sim:
        sim.add_member("hotline", "PJSIP/agent101", "Agent 101")
        client = await AmiClient.connect(*sim.address)
        await client.login()
        call = await sim.place_call("hotline", "0811000002", "Refused Caller")
        await call.connected.wait()
        assert call.agent is not None
        replies = await client.ask("Atxfer", "atx-2", Channel=call.agent.name, Exten="2102")
        assert (replies[-1]["Response"], replies[-1]["Message"]) == (
            "Error",
            "No attended transfer feature code found",
        )
        await client.close()

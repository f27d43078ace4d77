"""`core restart now` on the simulator: what hotline sees when the PBX restarts mid-call."""

from __future__ import annotations

import pytest

from pbxsim import AgentPhone, PbxSimulator

from .conftest import AmiClient


async def test_a_restart_cuts_every_call_before_the_queue_reports_it_then_drops_the_link() -> None:
    async with PbxSimulator.shipped(speed=20.0, channelvars=()) as sim:
        sim.add_member("hotline", "PJSIP/agent101", "Agent 101")
        client = await AmiClient.connect(*sim.address)
        await client.login()
        talking = await sim.place_call("hotline", "0811000001", "Talking Caller")
        await talking.connected.wait()
        sim.set_default_agent_phone(AgentPhone.manual())
        waiting = await sim.place_call("hotline", "0811000002", "Waiting Caller")
        await sim.restart(downtime=1.0)
        seen = []
        with pytest.raises(EOFError):
            while True:
                seen.append(await client.next(wait=2.0))
        await client.close()

        def index(name: str, **fields: str) -> int:
            return next(
                i
                for i, m in enumerate(seen)
                if m.name == name and all(m.get(k) == v for k, v in fields.items())
            )

        agent = talking.agent
        assert agent is not None
        complete = index("AgentComplete", Uniqueid=talking.uniqueid)
        assert seen[complete]["Reason"] == "caller"
        for ch in (talking.caller, agent):
            soft = index("SoftHangupRequest", Channel=ch.name)
            assert seen[soft]["Cause"] == "4" and soft < complete
        assert index("SoftHangupRequest", Channel=waiting.caller.name) < index(
            "QueueCallerAbandon", Uniqueid=waiting.uniqueid
        )
        assert seen[-1].name == "Shutdown" and seen[-1]["Restart"] == "True"
        assert (talking.outcome, waiting.outcome) == ("shutdown", "shutdown")
        assert not sim.core.channels

        again = await AmiClient.connect(*sim.address)
        await again.login()
        status = await again.ask("QueueStatus", "after-restart", Queue="hotline")
        members = await again.until(lambda m: m.name == "QueueStatusComplete")
        await again.close()
        assert status[-1]["Response"] == "Success"
        assert [m["Location"] for m in members if m.name == "QueueMember"] == ["PJSIP/agent101"]

"""Transfers and their refusals over AMI, answered exactly as the captured Asterisk answered."""

from __future__ import annotations

import asyncio

import pytest

from telephony.ami.capture import read_capture
from telephony.commands import AmiCallControl
from telephony.errors import NoAtxferFeature, NoConsultation, NoSuchChannel, NoTransferTarget
from tests.fixtures import AMI_TRACES
from tests.telephony.fake_ami import FakeAmi, replay_answer, sent

AGENT_LEG = "PJSIP/agent101-0000001e"
CONSULT = "Local/2102@from-agents-00000000;1"


def captured_event(capture: str, *needles: str) -> bytes:
    """The first received message of a capture holding every needle (bytes as captured)."""
    for item in read_capture(AMI_TRACES / capture):
        if item.kind == "rx" and all(n.encode() in item.data for n in needles):
            return item.data
    raise AssertionError(f"{capture} has no message with {needles}")


async def until_cancelled(control: AmiCallControl, channel: str, pbx: str = "pbx1") -> None:
    """Cancel once the link has delivered the consultation's Newchannel."""
    for _ in range(200):
        try:
            await control.cancel_attended_transfer(pbx, channel)
            return
        except NoConsultation:
            await asyncio.sleep(0.01)
    raise AssertionError("the consultation leg was never seen")


async def test_blind_transfer_sends_the_agents_channel_and_context(
    ami: FakeAmi, control: AmiCallControl
) -> None:
    ami.responders["BlindTransfer"] = replay_answer("blind-transfer-ami.txt", "blind-9")
    await control.blind_transfer("pbx1", "PJSIP/agent101-00000010", "2102", "from-agents")
    assert sent(ami, "BlindTransfer") == [
        ("Action", "BlindTransfer"),
        ("Channel", "PJSIP/agent101-00000010"),
        ("Exten", "2102"),
        ("Context", "from-agents"),
    ]


async def test_blind_transfer_refusals_become_domain_errors(
    ami: FakeAmi, control: AmiCallControl
) -> None:
    ami.responders["BlindTransfer"] = replay_answer("blind-transfer-ami.txt", "blind-3")
    with pytest.raises(NoSuchChannel) as gone:
        await control.blind_transfer("pbx1", "PJSIP/nosuch-00000000", "2102", "from-agents")
    assert gone.value.code == "no_such_channel"
    ami.responders["BlindTransfer"] = replay_answer("blind-transfer-ami.txt", "blind-4")
    with pytest.raises(NoTransferTarget):
        await control.blind_transfer("pbx1", "PJSIP/agent101-0000000d", "", "from-agents")


async def test_attended_transfer_without_a_feature_code_is_refused_clearly(
    ami: FakeAmi, control: AmiCallControl
) -> None:
    ami.responders["Atxfer"] = replay_answer("attended-transfer-ami.txt", "atxfer-3")
    with pytest.raises(NoAtxferFeature) as caught:
        await control.attended_transfer("pbx1", "PJSIP/agent101-0000001c", "2102", "from-agents")
    assert caught.value.code == "no_atxfer_feature"
    with pytest.raises(NoConsultation):
        await control.cancel_attended_transfer("pbx1", "PJSIP/agent101-0000001c")


async def test_cancelling_a_consultation_hangs_up_its_local_leg(
    ami: FakeAmi, control: AmiCallControl
) -> None:
    ami.responders["Atxfer"] = replay_answer("attended-transfer-ami.txt", "atxfer-5")
    ami.responders["Hangup"] = replay_answer("redirect-hangup-ami.txt", "redirect-3")
    await control.attended_transfer("pbx1", AGENT_LEG, "2102", "from-agents")
    assert sent(ami, "Atxfer")[1:] == [
        ("Channel", AGENT_LEG),
        ("Exten", "2102"),
        ("Context", "from-agents"),
    ]
    with pytest.raises(NoConsultation):
        await control.cancel_attended_transfer("pbx1", AGENT_LEG)
    ami.push(captured_event("attended-transfer-ami.txt", "Event: Newchannel", CONSULT))
    await until_cancelled(control, AGENT_LEG)
    assert sent(ami, "Hangup") == [("Action", "Hangup"), ("Channel", CONSULT)]

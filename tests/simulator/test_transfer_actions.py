"""The simulator's BlindTransfer and Atxfer, driven through the service's own CallControl
over TCP, and the typed events the translator makes of what it sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from pbxsim import PbxSimulator
from telephony.ami.link import AmiLink
from telephony.ami.protocol import AmiMessage
from telephony.commands import AmiCallControl
from telephony.config import PbxConfig
from telephony.errors import NoAtxferFeature, NoSuchChannel
from telephony.events import CallEnded, CallTransferred, TelephonyEvent
from telephony.translate import Translator
from tests.telephony.fake_ami import eventually
from tests.telephony.test_transfer_commands import until_cancelled


class Heard:
    """What the link delivered, translated as the service translates it."""

    def __init__(self) -> None:
        self.translator = Translator("lab")
        self.events: list[TelephonyEvent] = []

    async def __call__(self, message: AmiMessage) -> None:
        self.events.extend(self.translator.translate(message, datetime.now(UTC)))

    def of(self, kind: type) -> list[TelephonyEvent]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
async def heard() -> Heard:
    return Heard()


@pytest.fixture
async def control(lab: PbxSimulator, heard: Heard) -> AsyncIterator[AmiCallControl]:
    host, port = lab.address
    link = AmiLink(PbxConfig("lab", host, port, "hotline", "hotline"), heard)
    await link.start()
    await eventually(lambda: link.up)
    yield AmiCallControl({"lab": link})
    await link.stop()


async def connected_agent_leg(lab: PbxSimulator) -> str:
    call = await lab.place_call("hotline", "0812345678", "Somchai")
    await call.connected.wait()
    assert call.agent is not None
    return call.agent.name


async def test_blind_transfer_of_the_agents_channel_moves_the_caller(
    lab: PbxSimulator, control: AmiCallControl, heard: Heard
) -> None:
    leg = await connected_agent_leg(lab)
    with pytest.raises(NoSuchChannel):
        await control.blind_transfer("lab", "PJSIP/nosuch-00000000", "2102", "from-agents")
    await control.blind_transfer("lab", leg, "2102", "from-agents")
    await eventually(lambda: bool(heard.of(CallEnded)))
    [transferred] = heard.of(CallTransferred)
    assert isinstance(transferred, CallTransferred) and transferred.target == "2102"
    [ended] = heard.of(CallEnded)
    assert isinstance(ended, CallEnded) and ended.hung_up_by == "transfer"


async def test_attended_transfer_cancelled_then_completed_by_the_agent_hanging_up(
    lab: PbxSimulator, control: AmiCallControl, heard: Heard
) -> None:
    leg = await connected_agent_leg(lab)
    await control.attended_transfer("lab", leg, "2102", "from-agents")
    await until_cancelled(control, leg, pbx="lab")
    assert heard.of(CallEnded) == []
    await control.attended_transfer("lab", leg, "2103", "from-agents")
    await control.hangup("lab", leg)
    await eventually(lambda: bool(heard.of(CallEnded)))
    [transferred] = heard.of(CallTransferred)
    assert isinstance(transferred, CallTransferred) and transferred.target == "2103"


async def test_attended_transfer_without_the_feature_code_is_refused(
    lab: PbxSimulator, control: AmiCallControl
) -> None:
    lab.transfers.atxfer_feature = False
    leg = await connected_agent_leg(lab)
    with pytest.raises(NoAtxferFeature):
        await control.attended_transfer("lab", leg, "2102", "from-agents")

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from pbxsim.pbx import PbxSimulator
from pbxsim.phones import CustomerPhone
from telephony.ami.link import AmiLink
from telephony.ami.protocol import AmiMessage
from telephony.commands import AmiCallControl
from telephony.config import PbxConfig
from telephony.errors import (
    AlreadyAMember,
    CommandFailed,
    NoSuchChannel,
    NotAMember,
    NotDynamicMember,
    OriginateFailed,
    PbxUnavailable,
)
from tests.telephony.fake_ami import FakeAmi, error, eventually, ignore, replay_answer, reply, sent
from tests.waiting import until_true


async def test_pause_in_one_queue_with_reason(ami: FakeAmi, control: AmiCallControl) -> None:
    ami.responders["QueuePause"] = replay_answer("member-pause.txt", "member-pause-2")
    await control.pause("pbx1", "hotline", "PJSIP/agent101", "Lunch break")
    assert sent(ami, "QueuePause") == [
        ("Action", "QueuePause"),
        ("Interface", "PJSIP/agent101"),
        ("Paused", "true"),
        ("Queue", "hotline"),
        ("Reason", "Lunch break"),
    ]


async def test_pause_and_unpause_in_all_queues(ami: FakeAmi, control: AmiCallControl) -> None:
    ami.responders["QueuePause"] = replay_answer("member-pause.txt", "member-pause-5")
    await control.pause("pbx1", None, "PJSIP/agent102", "Training")
    assert ("Queue", "hotline") not in sent(ami, "QueuePause")
    ami.responders["QueuePause"] = replay_answer("member-pause.txt", "member-pause-6")
    await control.unpause("pbx1", None, "PJSIP/agent102")
    assert sent(ami, "QueuePause") == [
        ("Action", "QueuePause"),
        ("Interface", "PJSIP/agent102"),
        ("Paused", "false"),
    ]


async def test_pausing_a_non_member_raises_not_a_member(
    ami: FakeAmi, control: AmiCallControl
) -> None:
    ami.responders["QueuePause"] = replay_answer("member-pause.txt", "member-pause-7")
    with pytest.raises(NotAMember) as caught:
        await control.pause("pbx1", "hotline", "PJSIP/agent999", "nobody")
    assert caught.value.code == "not_a_member" and caught.value.pbx == "pbx1"


async def test_add_member_then_duplicate_raises_already_a_member(
    ami: FakeAmi, control: AmiCallControl
) -> None:
    ami.responders["QueueAdd"] = replay_answer("member-add-remove.txt", "member-add-remove-2")
    await control.add_member("pbx1", "hotline", "PJSIP/agent104", "Agent 104", penalty=1)
    assert sent(ami, "QueueAdd") == [
        ("Action", "QueueAdd"),
        ("Queue", "hotline"),
        ("Interface", "PJSIP/agent104"),
        ("MemberName", "Agent 104"),
        ("StateInterface", "PJSIP/agent104"),
        ("Penalty", "1"),
        ("Paused", "false"),
    ]
    await control.add_member(
        "pbx1", "hotline", "PJSIP/agent104", "Agent 104", paused_reason="login"
    )
    assert sent(ami, "QueueAdd")[-2:] == [("Paused", "true"), ("Reason", "login")]
    ami.responders["QueueAdd"] = replay_answer("member-add-remove.txt", "member-add-remove-3")
    with pytest.raises(AlreadyAMember):
        await control.add_member("pbx1", "hotline", "PJSIP/agent104", "Agent 104")


async def test_remove_member_and_static_member_errors(
    ami: FakeAmi, control: AmiCallControl
) -> None:
    ami.responders["QueueRemove"] = replay_answer("member-add-remove.txt", "member-add-remove-5")
    await control.remove_member("pbx1", "hotline", "PJSIP/agent104")
    ami.responders["QueueRemove"] = replay_answer("member-add-remove.txt", "member-add-remove-6")
    with pytest.raises(NotDynamicMember):
        await control.remove_member("pbx1", "hotline", "PJSIP/agent101")
    ami.responders["QueueRemove"] = lambda a: error(a, "Unable to remove interface: Not there")
    with pytest.raises(NotAMember):
        await control.remove_member("pbx1", "hotline", "PJSIP/agent105")


async def test_unknown_errors_stay_command_failed(ami: FakeAmi, control: AmiCallControl) -> None:
    ami.responders["QueuePause"] = lambda a: error(a, "Permission denied")
    with pytest.raises(CommandFailed) as caught:
        await control.pause("pbx1", "hotline", "PJSIP/agent101")
    assert type(caught.value) is CommandFailed and caught.value.message == "Permission denied"


async def test_unknown_pbx_is_unavailable(control: AmiCallControl) -> None:
    with pytest.raises(PbxUnavailable):
        await control.unpause("nowhere", None, "PJSIP/agent101")


async def test_hangup_by_call_key_targets_the_caller_uniqueid(
    ami: FakeAmi, control: AmiCallControl
) -> None:
    ami.responders["Hangup"] = lambda a: reply(a, "Message: Channel Hungup")
    await control.hangup("pbx1", "pbx1/hotline/1795236761.25")
    assert ("Channel", "1795236761.25") in sent(ami, "Hangup")
    await control.hangup("pbx1", "PJSIP/agent101-00000018")
    assert ("Channel", "PJSIP/agent101-00000018") in sent(ami, "Hangup")
    ami.responders["Hangup"] = lambda a: error(a, "No such channel")
    with pytest.raises(NoSuchChannel):
        await control.hangup("pbx1", "PJSIP/gone-00000001")


def originate_answer(
    reason: str, cause: str | None, cause_first: bool = True
) -> Callable[[AmiMessage], bytes]:
    """An Async Originate's answer as Asterisk 22 sends it (see originate-failed.txt)."""

    def respond(action: AmiMessage) -> bytes:
        channel_id = action["ChannelId"]
        queued = reply(action, "Message: Originate successfully queued")
        hangup = (
            AmiMessage(
                [
                    ("Event", "Hangup"),
                    ("Channel", "PJSIP/customer-00000001"),
                    ("Uniqueid", channel_id),
                    ("Linkedid", channel_id),
                    ("Cause", cause),
                    ("Cause-txt", "whatever"),
                ]
            ).encode()
            if cause
            else b""
        )
        outcome = AmiMessage(
            [
                ("Event", "OriginateResponse"),
                ("Privilege", "call,all"),
                ("ActionID", action.action_id or ""),
                ("Response", "Success" if reason == "4" else "Failure"),
                ("Channel", action["Channel"]),
                ("Context", "survey"),
                ("Exten", "s"),
                ("Reason", reason),
                ("Uniqueid", channel_id if reason == "4" else "<unknown>"),
            ]
        ).encode()
        return queued + (hangup + outcome if cause_first else outcome + hangup)

    return respond


@pytest.mark.parametrize(
    ("reason", "cause", "outcome"),
    [
        ("4", None, "answered"),
        ("3", "19", "no_answer"),
        ("0", "17", "busy"),
        ("0", "34", "congestion"),
        ("0", None, "failure"),
        ("5", None, "busy"),
        ("8", None, "congestion"),
        ("1", None, "hangup"),
    ],
)
async def test_originate_outcomes(
    ami: FakeAmi, control: AmiCallControl, reason: str, cause: str | None, outcome: str
) -> None:
    ami.responders["Originate"] = originate_answer(reason, cause)
    result = await control.originate(
        "pbx1", "PJSIP/customer", "survey", "s", channel_id="survey-42"
    )
    assert result.outcome == outcome
    assert result.reason == reason and result.channel_id == "survey-42"
    assert result.hangup_cause == cause


async def test_no_answer_reported_before_its_hangup(ami: FakeAmi, control: AmiCallControl) -> None:
    """As in originate-failed.txt: Reason 3 first, the Hangup (cause 19) after it."""
    ami.responders["Originate"] = originate_answer("3", "19", cause_first=False)
    result = await control.originate("pbx1", "PJSIP/customer", "survey", "s", channel_id="s-5")
    assert (result.outcome, result.reason, result.hangup_cause) == ("no_answer", "3", None)


async def test_originate_sends_async_channel_id_and_variables(
    ami: FakeAmi, control: AmiCallControl
) -> None:
    ami.responders["Originate"] = originate_answer("4", None)
    await control.originate(
        "pbx1",
        "PJSIP/0812345678@trunk",
        "survey",
        "s",
        2,
        channel_id="survey-7",
        caller_id='"Hotline Survey" <1169>',
        variables={"SURVEY_ID": "7", "LANG": "th"},
        timeout_ms=8000,
    )
    assert sent(ami, "Originate") == [
        ("Action", "Originate"),
        ("Channel", "PJSIP/0812345678@trunk"),
        ("Context", "survey"),
        ("Exten", "s"),
        ("Priority", "2"),
        ("Timeout", "8000"),
        ("CallerID", '"Hotline Survey" <1169>'),
        ("Variable", "SURVEY_ID=7"),
        ("Variable", "LANG=th"),
        ("Async", "true"),
        ("ChannelId", "survey-7"),
    ]


async def test_originate_refused_at_once_raises_originate_failed(
    ami: FakeAmi, control: AmiCallControl
) -> None:
    ami.responders["Originate"] = lambda a: error(a, "Originate failed")
    with pytest.raises(OriginateFailed) as caught:
        await control.originate("pbx1", "PJSIP/customer-busy", "survey", "s", channel_id="x-1")
    assert caught.value.reason == "Originate failed" and caught.value.code == "originate_failed"


async def test_originate_with_injected_variable_is_refused(control: AmiCallControl) -> None:
    with pytest.raises(ValueError):
        await control.originate(
            "pbx1", "PJSIP/x", "survey", "s", channel_id="x-2", variables={"A": "1\r\nB: 2"}
        )


async def test_originate_awaited_from_inside_an_event_handler_does_not_deadlock(
    ami: FakeAmi,
) -> None:
    """A survey scheduler originates while handling an event: the link must not wait on itself."""
    ami.responders["Originate"] = originate_answer("4", None)
    results: list[str] = []
    holder: dict[str, AmiCallControl] = {}

    async def on_message(message: AmiMessage) -> None:
        if message.name == "CallDone":
            result = await holder["control"].originate(
                "pbx1", "PJSIP/customer", "survey", "s", channel_id="survey-9"
            )
            results.append(result.outcome)

    link = AmiLink(ami.config(), on_message)
    holder["control"] = AmiCallControl({"pbx1": link})
    await link.start()
    try:
        await eventually(lambda: link.up)
        ami.push(b"Event: CallDone\r\n\r\n")
        await eventually(lambda: results == ["answered"])
    finally:
        await link.stop()


async def test_originate_while_down_raises_pbx_unavailable(
    ami: FakeAmi, link: AmiLink, control: AmiCallControl
) -> None:
    await ami.close()
    await eventually(lambda: not link.up)
    with pytest.raises(PbxUnavailable):
        await control.originate("pbx1", "PJSIP/customer", "survey", "s", channel_id="x-3")


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator.lab(
        speed=20.0,
        customer_phones={
            "0811111111": CustomerPhone.busy(),
            "0822222222": CustomerPhone.no_answer(),
            "0833333333": CustomerPhone.congested(),
            "0844444444": CustomerPhone.unknown(),
        },
    )
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def sim_control(sim: PbxSimulator) -> AsyncIterator[AmiCallControl]:
    host, port = sim.address
    link = AmiLink(PbxConfig("lab", host, port, "hotline", "hotline"), ignore)
    await link.start()
    await eventually(lambda: link.up)
    yield AmiCallControl({"lab": link})
    await link.stop()


@pytest.mark.parametrize(
    ("number", "outcome"),
    [
        ("0811111111", "busy"),
        ("0822222222", "no_answer"),
        ("0833333333", "congestion"),
        ("0844444444", "failure"),
    ],
)
async def test_originate_outcomes_against_the_simulator(
    sim_control: AmiCallControl, number: str, outcome: str
) -> None:
    result = await sim_control.originate(
        "lab", f"PJSIP/{number}@trunk", "survey", "s", channel_id=f"s-{number}", timeout_ms=4000
    )
    assert result.outcome == outcome


async def test_member_commands_against_the_simulator(
    sim: PbxSimulator, sim_control: AmiCallControl
) -> None:
    await sim_control.add_member("lab", "hotline", "PJSIP/agent104", "Agent 104", penalty=1)
    assert "PJSIP/agent104" in {m.interface for m in sim.members("hotline")}
    with pytest.raises(AlreadyAMember):
        await sim_control.add_member("lab", "hotline", "PJSIP/agent104", "Agent 104")
    await sim_control.pause("lab", "hotline", "PJSIP/agent104", "ประชุม")
    paused = {m.interface: m for m in sim.members("hotline")}["PJSIP/agent104"]
    assert paused.paused
    with pytest.raises(NotAMember):
        await sim_control.pause("lab", "hotline", "PJSIP/agent999", "nobody")
    await sim_control.remove_member("lab", "hotline", "PJSIP/agent104")
    with pytest.raises(NotDynamicMember):
        await sim_control.remove_member("lab", "hotline", "PJSIP/agent101")


async def test_a_dialled_channel_exists_while_it_rings_and_not_once_it_ended(
    sim_control: AmiCallControl,
) -> None:
    dial = asyncio.create_task(
        sim_control.originate(
            "lab", "PJSIP/0822222222@trunk", "survey", "s", channel_id="s-ring", timeout_ms=40_000
        )
    )
    await until_true(lambda: sim_control.channel_exists("lab", "s-ring"), within=5.0)
    assert not await sim_control.channel_exists("lab", "s-other")
    assert (await dial).outcome == "no_answer"
    assert not await sim_control.channel_exists("lab", "s-ring")

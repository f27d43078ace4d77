from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import structlog

from telephony.ami.capture import read_capture
from telephony.ami.link import AmiLink
from telephony.ami.protocol import AmiMessage
from telephony.config import PbxConfig
from telephony.errors import CommandFailed, CommandTimeout, PbxUnavailable
from tests.fixtures import AMI_TRACES
from tests.telephony.fake_ami import SECRET, FakeAmi, Recorder, error, eventually, reply

LinkFactory = Callable[..., Awaitable[AmiLink]]


@pytest.fixture
async def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def make_link(ami: FakeAmi, recorder: Recorder) -> AsyncIterator[LinkFactory]:
    links: list[AmiLink] = []

    async def make(**overrides: object) -> AmiLink:
        on_message = overrides.pop("on_message", recorder.on_message)
        link = AmiLink(
            ami.config(**overrides),
            on_message,  # type: ignore[arg-type]
            recorder.on_connected,
            recorder.on_disconnected,
        )
        links.append(link)
        await link.start()
        return link

    yield make
    for link in links:
        await link.stop()


async def test_logs_in_and_delivers_events_in_order(
    ami: FakeAmi, recorder: Recorder, make_link: LinkFactory
) -> None:
    link = await make_link()
    await eventually(lambda: link.up)
    assert link.health().why == "logged in"
    ami.push(b"".join(b"Event: E%d\r\nN: %d\r\n\r\n" % (i, i) for i in range(200)))
    await eventually(lambda: len(recorder.messages) >= 201)
    names = [m.name for m in recorder.messages if m.name != "FullyBooted"]
    assert names == [f"E{i}" for i in range(200)]
    assert recorder.items.index("connected") < recorder.items.index("E0")


async def test_replayed_capture_arrives_whole_with_repeated_keys(
    ami: FakeAmi, recorder: Recorder, make_link: LinkFactory
) -> None:
    link = await make_link()
    await eventually(lambda: link.up)
    items = read_capture(AMI_TRACES / "originate-survey-local.txt")
    events = [i.data for i in items if i.kind == "rx" and i.data.startswith(b"Event:")]
    stream = b"".join(events)
    for start in range(0, len(stream), 7):
        ami.push(stream[start : start + 7])
    await eventually(lambda: len(recorder.messages) >= len(events) + 1)
    user_events = [m for m in recorder.messages if m.name == "UserEvent"]
    assert user_events[0].getall("Linkedid") == ["1795236792.28", "1795236792.28"]


async def test_hostile_bytes_are_skipped_and_later_events_still_arrive(
    ami: FakeAmi, recorder: Recorder, make_link: LinkFactory
) -> None:
    link = await make_link()
    await eventually(lambda: link.up)
    thai = "สมชาย".encode()
    ami.push(
        b"garbage without separator\r\n\r\n"
        + b"Event: Newchannel\r\nCallerIDName: \xff\xfe<script>alert(1)</script>\r\n\r\n"
        + b"Event: Huge\r\nData: "
        + b"x" * (300 * 1024)
        + b"\r\n\r\n"
        + b"Event: NoSuchEventEver\r\nFoo: bar\r\n\r\n"
        + b"Event: Newchannel\r\nCallerIDName: "
        + thai[:2]
    )
    await asyncio.sleep(0.05)
    ami.push(thai[2:] + b"\r\n\r\n")
    await eventually(lambda: len(recorder.messages) >= 4)
    names = [m.get("CallerIDName") for m in recorder.messages if m.name == "Newchannel"]
    assert names == ["\ufffd\ufffd<script>alert(1)</script>", "สมชาย"]
    assert "Huge" not in [m.name for m in recorder.messages]
    assert "NoSuchEventEver" in [m.name for m in recorder.messages]
    assert link.up


async def test_a_failing_consumer_does_not_kill_the_link(
    ami: FakeAmi, recorder: Recorder, make_link: LinkFactory
) -> None:
    async def on_message(message: AmiMessage) -> None:
        if message.name == "Boom":
            raise RuntimeError("subscriber bug")
        await recorder.on_message(message)

    link = await make_link(on_message=on_message)
    await eventually(lambda: link.up)
    with structlog.testing.capture_logs() as logs:
        ami.push(b"Event: Boom\r\n\r\nEvent: After\r\n\r\n")
        await eventually(lambda: any(m.name == "After" for m in recorder.messages))
    assert link.up and ami.logins == 1
    failure = [e for e in logs if e["event"] == "ami_consumer_failed"]
    assert failure and failure[0]["ami_event"] == "Boom"


async def test_login_failure_is_visible_in_health_and_logs(
    ami: FakeAmi, make_link: LinkFactory
) -> None:
    ami.secret = "another secret"
    with structlog.testing.capture_logs() as logs:
        link = await make_link()
        await eventually(lambda: "Authentication failed" in link.health().why)
    health = link.health()
    assert not health.up and health.name == "pbx1"
    assert health.why == "login failed: Authentication failed"
    assert any(e["event"] == "ami_login_failed" for e in logs)
    assert SECRET not in repr(logs) and SECRET not in repr(link.config)
    with pytest.raises(PbxUnavailable):
        await link.send_action("Ping")


async def test_half_open_link_is_detected_by_the_watchdog_and_reconnected(
    ami: FakeAmi, recorder: Recorder, make_link: LinkFactory
) -> None:
    link = await make_link(ping_interval=0.2, ping_timeout=0.2)
    await eventually(lambda: link.up)
    ami.answer_pings = False
    await eventually(lambda: any(i.startswith("disconnected") for i in recorder.items))
    assert "disconnected: no answer to Ping within 0.2 s" in recorder.items
    ami.answer_pings = True
    await eventually(lambda: link.up and ami.logins >= 2)
    assert recorder.items.count("connected") == 2


async def test_link_cut_and_restored_reconnects_and_calls_on_connected_again(
    ami: FakeAmi, recorder: Recorder, make_link: LinkFactory
) -> None:
    link = await make_link()
    await eventually(lambda: link.up)
    port = ami.port
    await ami.close()
    await eventually(lambda: not link.up)
    assert link.health().why.startswith(("connection lost", "connect failed"))
    await asyncio.sleep(0.3)
    await ami.start(port)
    await eventually(lambda: link.up)
    assert recorder.items.count("connected") == 2
    assert recorder.items.count("disconnected: connection lost") == 1


async def test_action_without_answer_raises_command_timeout(
    ami: FakeAmi, make_link: LinkFactory
) -> None:
    link = await make_link(action_timeout=0.3)
    await eventually(lambda: link.up)
    with pytest.raises(CommandTimeout) as caught:
        await link.send_action("QueueSummary")
    assert caught.value.code == "command_timeout"
    assert link.up


async def test_error_answer_raises_command_failed_also_for_event_lists(
    ami: FakeAmi, make_link: LinkFactory
) -> None:
    ami.responders["QueueStatus"] = lambda a: error(a, "No such queue")
    ami.responders["QueuePause"] = lambda a: error(a, "Interface not found")
    link = await make_link()
    await eventually(lambda: link.up)
    with pytest.raises(CommandFailed, match="Interface not found"):
        await link.send_action("QueuePause", {"Interface": "PJSIP/agent999"})
    with pytest.raises(CommandFailed, match="No such queue") as caught:
        await link.send_action("QueueStatus", {"Queue": "nope"}, as_list=True)
    assert caught.value.action == "QueueStatus"


async def test_event_list_action_returns_all_items(ami: FakeAmi, make_link: LinkFactory) -> None:
    items = read_capture(AMI_TRACES / "queue-status-snapshot.txt")
    answer = b"".join(
        i.data for i in items if i.kind == "rx" and b"queue-status-snapshot-4" in i.data
    )

    def core_show_channels(action: AmiMessage) -> bytes:
        return answer.replace(b"queue-status-snapshot-4", (action.action_id or "").encode())

    ami.responders["CoreShowChannels"] = core_show_channels
    link = await make_link()
    await eventually(lambda: link.up)
    messages = await link.send_action("CoreShowChannels", as_list=True)
    assert [m.name for m in messages] == [
        None,
        *["CoreShowChannel"] * 7,
        "CoreShowChannelsComplete",
    ]


async def test_actions_are_encoded_in_order_and_injection_is_refused(
    ami: FakeAmi, make_link: LinkFactory
) -> None:
    ami.responders["QueueAdd"] = lambda a: reply(a, "Message: Added interface to queue")
    link = await make_link()
    await eventually(lambda: link.up)
    answer = await link.send_action(
        "QueueAdd", [("Queue", "hotline"), ("Interface", "PJSIP/agent104")]
    )
    assert answer["Message"] == "Added interface to queue"
    sent = ami.actions[-1]
    assert [k for k, _ in sent] == ["Action", "Queue", "Interface", "ActionID"]
    with pytest.raises(ValueError):
        await link.send_action("QueuePause", {"Reason": "x\r\nAction: Hangup"})
    with pytest.raises(ValueError):
        await link.send_action("Originate", {"Channel": "PJSIP/x"})


async def test_pending_originate_fails_on_disconnect_and_is_never_resent(
    ami: FakeAmi, recorder: Recorder, make_link: LinkFactory
) -> None:
    link = await make_link()
    await eventually(lambda: link.up)
    pending = asyncio.create_task(
        link.send_action("Originate", {"Channel": "PJSIP/customer", "Async": "true"})
    )
    await eventually(lambda: any(a["Action"] == "Originate" for a in ami.actions))
    ami.drop()
    with pytest.raises(PbxUnavailable):
        await pending
    await eventually(lambda: ami.logins == 2 and link.up)
    await asyncio.sleep(0.3)
    assert [a["Action"] for a in ami.actions].count("Originate") == 1


async def test_stop_is_clean_and_health_says_stopped(ami: FakeAmi) -> None:
    recorder = Recorder()
    link = AmiLink(ami.config(), recorder.on_message)
    await link.start()
    await eventually(lambda: link.up)
    await link.stop()
    assert not link.up and link.health().why == "stopped"
    tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith("ami-")]
    assert tasks == []
    with pytest.raises(PbxUnavailable):
        await link.send_action("Ping")


async def test_secret_is_never_logged(ami: FakeAmi, make_link: LinkFactory) -> None:
    with structlog.testing.capture_logs() as logs:
        link = await make_link()
        await eventually(lambda: link.up)
        ami.drop()
        await eventually(lambda: ami.logins == 2 and link.up)
    assert logs and SECRET not in repr(logs)


async def test_pbx_shutdown_event_drops_the_link_and_it_comes_back(
    ami: FakeAmi, recorder: Recorder, make_link: LinkFactory
) -> None:
    link = await make_link()
    await eventually(lambda: link.up)
    ami.push(b"Event: Shutdown\r\nShutdown: Cleanly\r\nRestart: True\r\n\r\n")
    await eventually(lambda: "disconnected: PBX shut down" in recorder.items)
    await eventually(lambda: ami.logins == 2 and link.up)
    assert "Shutdown" in [m.name for m in recorder.messages]


async def test_slow_consumer_shows_as_backlog_and_reading_goes_on(
    ami: FakeAmi, make_link: LinkFactory
) -> None:
    gate = asyncio.Event()
    handled: list[str] = []

    async def slow(message: AmiMessage) -> None:
        await gate.wait()
        handled.append(message.name or "")

    link = await make_link(on_message=slow)
    await eventually(lambda: link.up)
    ami.push(b"".join(b"Event: E%d\r\n\r\n" % i for i in range(50)))
    await eventually(lambda: link.health().backlog >= 50)
    assert link.up and handled == []
    gate.set()
    await eventually(lambda: link.health().backlog == 0 and len(handled) == 51)


def test_config_hides_the_secret_and_refuses_bad_values() -> None:
    config = PbxConfig("pbx1", "10.0.0.1", 5038, "hotline", SECRET)
    assert SECRET not in repr(config) and SECRET not in str(config)
    with pytest.raises(ValueError):
        PbxConfig("pbx1", "10.0.0.1", 5038, "hotline", "x\r\nAction: Originate")
    with pytest.raises(ValueError):
        PbxConfig("pbx1", "10.0.0.1", 5038, "hotline", "x", reconnect_min=5, reconnect_max=1)


async def test_a_failing_listener_is_logged_and_events_still_flow(
    ami: FakeAmi, recorder: Recorder, make_link: LinkFactory
) -> None:
    def listener(message: AmiMessage) -> None:
        raise RuntimeError("listener bug")

    link = await make_link()
    link.add_listener(listener)
    await eventually(lambda: link.up)
    with structlog.testing.capture_logs() as logs:
        ami.push(b"Event: Hangup\r\nCause: 16\r\n\r\n")
        await eventually(lambda: "Hangup" in recorder.items)
    assert link.up
    assert "Hangup" in [e["ami_event"] for e in logs if e["event"] == "ami_listener_failed"]


async def test_a_refused_login_is_retried_at_once_then_backs_off_up_to_the_maximum(
    ami: FakeAmi, make_link: LinkFactory
) -> None:
    ami.secret = "rotated"
    with structlog.testing.capture_logs() as logs:
        await make_link(reconnect_min=0.02, reconnect_max=0.1)

        def delays() -> list[float]:
            return [e["delay_s"] for e in logs if e["event"] == "ami_reconnect_scheduled"]

        await eventually(lambda: len(delays()) >= 6)
    ceilings = [0.02, 0.04, 0.08, 0.1, 0.1]
    assert delays()[0] == 0.0
    assert all(c / 2 <= d <= c for d, c in zip(delays()[1:6], ceilings, strict=True))


async def test_refused_and_repaired_frames_are_counted_across_reconnects(
    ami: FakeAmi, recorder: Recorder, make_link: LinkFactory
) -> None:
    link = await make_link()
    await eventually(lambda: link.up)
    ami.push(b"garbage\r\n\r\nEvent: A\r\nX: 1\r\r\n\r\r\nEvent: B\r\nName: x\x00y\r\n\r\n")
    await eventually(lambda: "B" in [m.name for m in recorder.messages])
    link.reconnect("test")
    await eventually(lambda: recorder.items.count("connected") == 2)
    ami.push(b"more garbage\r\n\r\n")
    await eventually(lambda: link.health().frames["malformed"] == 3)
    assert link.health().frames == {"malformed": 3, "oversized": 0, "cleaned": 1}

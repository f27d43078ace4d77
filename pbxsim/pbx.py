"""`PbxSimulator`: the PBX the demo, the integration tests and the benchmarks talk to.

Over TCP it is an Asterisk 22 AMI (and, for survey calls, the FastAGI client side); in
Python it is a control API to place calls, make agents answer, hold, transfer and hang up,
and to wait for what happened.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from pbxsim.ami_server import AmiServer
from pbxsim.attended import AttendedTransfers
from pbxsim.clock import SimClock
from pbxsim.core import PbxCore
from pbxsim.dialplan import InboundPlan
from pbxsim.members import MemberRoster
from pbxsim.mixmonitor import MixMonitors
from pbxsim.model import NOT_INUSE, IdAllocator, Member, Queue
from pbxsim.originate import OriginateEngine, SurveyCall
from pbxsim.phones import AgentPhone, CustomerPhone
from pbxsim.queue_actions import QueueActions
from pbxsim.queue_calls import TRUNK, HangupSide, QueueCall, QueueEngine
from pbxsim.queue_log import DEFAULT_TABLE, QueueLog
from pbxsim.replay import ReplayFeed
from pbxsim.templates import Fields, chan_event, shutdown_event
from pbxsim.transfers import DirectCall, TransferActions
from telephony.ami.protocol import AmiMessage


class PbxSimulator:
    """One simulated Asterisk: AMI server, queues, phones, survey calls, optional replay."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        ami_port: int = 0,
        accounts: Mapping[str, str] | None = None,
        timestamp_events: bool = False,
        speed: float = 1.0,
        epoch: float | None = None,
        agi_host: str = "127.0.0.1",
        agi_port: int = 4573,
        exten: str = "1169",
        customer_phones: Mapping[str, CustomerPhone] | None = None,
        default_customer_phone: CustomerPhone | None = None,
        prompt_seconds: float = 0.5,
        incall_survey: bool = False,
        pbx_name: str = "main",
        write_timeout: float = 5.0,
        write_buffer_high: int = 1 << 20,
        replay: str | Path | None = None,
        replay_speed: float | None = None,
        replay_autostart: bool = True,
        history: int = 100_000,
        plan: InboundPlan | None = None,
        trunk: str = TRUNK,
        device_state_events: bool = True,
        atxfer_code: str | None = None,
        device_lag: float = 0.0,
        endpoints: Iterable[str] | None = None,
        channelvars: Iterable[str] = (),
        ami_tls: ssl.SSLContext | None = None,
        queue_log_url: str | None = None,
        queue_log_table: str = DEFAULT_TABLE,
        recordings_dir: Path | None = None,
    ) -> None:
        self.clock = SimClock(speed=speed, epoch=epoch)
        # The lab of the dynamic-member captures reported no DeviceStateChange at all.
        self.device_state_events = device_state_events
        self.server = AmiServer(
            accounts if accounts is not None else {"hotline": "hotline"},
            host=host,
            port=ami_port,
            timestamp_events=timestamp_events,
            clock=self.clock.now,
            write_timeout=write_timeout,
            write_buffer_high=write_buffer_high,
            tls=ami_tls,
        )
        # Like Asterisk's realtime queue_log: into PostgreSQL only when given a database.
        self.queue_log = QueueLog(self.clock, queue_log_url, queue_log_table)
        self.core = PbxCore(self.emit, self.clock, IdAllocator(), self.queue_log)
        self.queue_engine = QueueEngine(self.core, exten, plan, trunk)
        self.queue_engine.device_lag = device_lag
        self.originate = OriginateEngine(
            self.core,
            agi_host=agi_host,
            agi_port=agi_port,
            phones=customer_phones,
            default_phone=default_customer_phone,
            prompt_seconds=prompt_seconds,
            pbx_name=pbx_name,
        )
        if incall_survey:
            self.queue_engine.after_agent = self.originate.incall_survey
        self.roster = MemberRoster(self.core, self.queue_engine.dispatch)
        QueueActions(self.core, self.queue_engine, self.roster).register(self.server)
        self.transfers = TransferActions(self.core, self.queue_engine)
        self.transfers.register(self.server)
        self.attended = AttendedTransfers(self.core, self.queue_engine, self.transfers)
        self.attended.register(self.server)
        self.core.atxfer_code = atxfer_code
        self.core.channelvars = tuple(channelvars)
        self.originate.endpoints = None if endpoints is None else frozenset(endpoints)
        self.originate.agent_phone = lambda e: self.queue_engine.phones.get(
            e, self.queue_engine.default_phone
        )
        self.originate.agents_dialplan = self.transfers.route
        self.originate.register(self.server)
        # MixMonitor's files go here: the folder the service shares with Asterisk.
        self.mixmonitors = MixMonitors(self.core, recordings_dir)
        self.mixmonitors.register(self.server)
        self.replay = (
            ReplayFeed(replay, speed=replay_speed, autostart=replay_autostart) if replay else None
        )
        if self.replay is not None:
            self.replay.attach(self.server)
        self.events: deque[Fields] = deque(maxlen=history)
        self._emitted = asyncio.Event()

    @classmethod
    def lab(cls, agents: int = 3, **kwargs: object) -> PbxSimulator:
        """Queue `hotline` with static members PJSIP/agent101.. like the capture lab."""
        sim = cls(**kwargs)  # type: ignore[arg-type]
        sim.add_queue("hotline")
        for i in range(agents):
            number = 101 + i
            sim.add_member("hotline", f"PJSIP/agent{number}", f"Agent {number}", dynamic=False)
        return sim

    @classmethod
    def shipped(
        cls,
        agents: int = 3,
        queue_timeout: float | None = 120.0,
        **kwargs: object,
    ) -> PbxSimulator:
        """Configured like deploy/asterisk: queue `hotline` with NO members (agents sign in
        through hotline with QueueAdd), Queue(hotline,ct,,,timeout), exit by key, the
        overflow with its callback offer, `[from-agents]` transfers and click-to-call, an
        atxfer code, `channelvars = HOTLINE_CALLBACK`, agents PJSIP/agent101.. and the
        supervisor's phone PJSIP/super201 only; with
        `recording` (HOTLINE_RECORDING=true) the recording notice before the queue."""
        recording = bool(kwargs.pop("recording", False))
        kwargs.setdefault("plan", InboundPlan.shipped(queue_timeout, recording=recording))
        kwargs.setdefault("trunk", "PJSIP/trunk")
        kwargs.setdefault("atxfer_code", "*2")
        kwargs.setdefault("channelvars", ("HOTLINE_CALLBACK",))
        kwargs.setdefault(
            "endpoints",
            [
                *(f"PJSIP/agent{101 + i}" for i in range(agents)),
                "PJSIP/super201",
            ],
        )
        sim = cls(**kwargs)  # type: ignore[arg-type]
        sim.add_queue("hotline")
        return sim

    # lifetime -----------------------------------------------------------------------
    async def start(self) -> tuple[str, int]:
        await self.queue_log.start()
        return await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()
        await self.queue_engine.close()
        await self.transfers.close()
        await self.attended.close()
        await self.originate.close()
        if self.replay is not None:
            await self.replay.close()
        await self.queue_log.stop()

    @property
    def address(self) -> tuple[str, int]:
        return self.server.host, self.server.port

    # events -------------------------------------------------------------------------
    def emit(self, fields: Fields) -> None:
        if not self.device_state_events and fields[0] == ("Event", "DeviceStateChange"):
            return
        self.events.append(fields)
        self.mixmonitors.observe(fields)
        self.server.broadcast(fields)
        self._emitted.set()

    async def wait_for_event(
        self, name: str, where: Callable[[AmiMessage], bool] | None = None, **fields: str
    ) -> AmiMessage:
        """The first emitted event called `name` whose fields match (past events count too)."""

        def found() -> AmiMessage | None:
            for pairs in self.events:
                message = AmiMessage(pairs)
                if message.name != name:
                    continue
                if all(message.get(k) == v for k, v in fields.items()) and (
                    where is None or where(message)
                ):
                    return message
            return None

        result = found()
        while result is None:
            # Check-clear-wait has no await in between, so no emit can slip through.
            self._emitted.clear()
            await self._emitted.wait()
            result = found()
        return result

    def event_names(self) -> list[str]:
        return [dict(pairs).get("Event", "") for pairs in self.events]

    async def wait_replayed(self, sessions: int = 1) -> None:
        """Replay mode: wait until `sessions` clients have received the whole capture."""
        if self.replay is None:
            raise RuntimeError("the simulator was not started in replay mode")
        await self.replay.wait_done(sessions)

    async def wait_for_action(self, name: str, count: int = 1) -> AmiMessage:
        return await self.server.wait_for_action(name, count)

    # connections ----------------------------------------------------------------------
    def drop_connections(self) -> None:
        self.server.drop_connections()

    async def refuse_connections(self) -> None:
        """Stop listening: clients get ECONNREFUSED until `accept_connections()`."""
        await self.server.stop_listening()

    async def accept_connections(self) -> None:
        await self.server.start()

    async def restart(self, downtime: float = 2.0, *, crash: bool = False) -> None:
        """`core restart now`, built from Asterisk's documented behaviour (no capture shows
        it): every call's legs get SoftHangupRequest Cause 4 before the AgentComplete (Reason
        caller: app_queue sees the caller's channel go, and logs COMPLETECALLER or ABANDON),
        the Shutdown event (Uncleanly, Restart True) follows, every AMI link drops and
        connections are refused for `downtime` simulated seconds. persistentmembers = yes:
        the members come back with their pauses; a fresh FullyBooted tells clients the PBX
        restarted, and logger.c's QUEUESTART (callid NONE) is the first queue_log row.

        `crash`: the process dies at once (kill -9, a crash, systemd's SIGKILL): the links
        drop first, no event reaches the AMI and app_queue logs no end for the calls cut."""
        if crash:
            await self.refuse_connections()
            self.drop_connections()
            self.queue_log.halt()
        busy = bool(self.core.channels)
        await self.queue_engine.shutdown()
        await self.transfers.shutdown()
        for ch in list(self.core.channels.values()):
            self.emit(chan_event("SoftHangupRequest", ch, ("Cause", "4")))
            if not self.core.hang_up(ch):
                self.core.drop_channel(ch)
        self.emit(shutdown_event(busy))
        await self.refuse_connections()
        self.drop_connections()
        await self.clock.sleep(downtime)
        for queue in self.core.queues.values():
            for member in queue.members.values():
                member.status, member.in_call = NOT_INUSE, False
        self.queue_log.boot()
        self.server.booted()
        await self.accept_connections()

    # configuration --------------------------------------------------------------------
    def add_queue(
        self, name: str, *, timeout: float = 15.0, retry: float = 2.0, wrapuptime: int = 0
    ) -> Queue:
        queue = Queue(name, timeout=timeout, retry=retry, wrapuptime=wrapuptime)
        self.core.queues[name] = queue
        return queue

    def add_member(
        self,
        queue: str,
        interface: str,
        name: str | None = None,
        *,
        dynamic: bool = True,
        phone: AgentPhone | None = None,
        penalty: int = 0,
        paused: bool = False,
    ) -> Member:
        """Static members are configuration (no event); dynamic ones announce QueueMemberAdded."""
        if phone is not None:
            self.set_agent_phone(interface, phone)
        return self.roster.add_member(
            queue,
            interface,
            name,
            dynamic=dynamic,
            penalty=penalty,
            paused=paused,
            announce=dynamic,
        )

    def remove_member(self, queue: str, interface: str) -> Member:
        return self.roster.remove_member(queue, interface)

    def pause(
        self, interface: str, paused: bool = True, reason: str = "", queue: str | None = None
    ) -> None:
        self.roster.pause_member(interface, paused, reason, queue)

    def set_agent_phone(self, interface: str, phone: AgentPhone) -> None:
        self.queue_engine.phones[interface] = phone

    def set_default_agent_phone(self, phone: AgentPhone) -> None:
        self.queue_engine.default_phone = phone

    def set_outside_phone(self, phone: AgentPhone) -> None:
        """How an outside number dialled over the trunk (`0X.`) answers."""
        self.transfers.outside_phone = phone

    def set_customer_phone(self, number: str, phone: CustomerPhone) -> None:
        self.originate.phones[number] = phone

    def members(self, queue: str) -> Iterable[Member]:
        return self.core.queues[queue].members.values()

    # calls --------------------------------------------------------------------------
    async def place_call(self, queue: str, caller_number: str, caller_name: str = "") -> QueueCall:
        """A caller dials in and joins `queue`; returns once QueueCallerJoin was sent."""
        return await self.queue_engine.join(queue, caller_number, caller_name)

    async def answer(self, interface: str) -> QueueCall:
        call = self.queue_engine.answer(interface)
        await call.connected.wait()
        return call

    def decline(self, interface: str) -> QueueCall:
        """The agent at `interface` rejects the ringing call (AgentRingNoAnswer, then retry)."""
        return self.queue_engine.decline(interface)

    async def hold(self, call: QueueCall) -> None:
        self.queue_engine.hold(call)

    async def unhold(self, call: QueueCall) -> None:
        self.queue_engine.unhold(call)

    async def transfer(self, call: QueueCall, exten: str, context: str = "from-internal") -> None:
        self.queue_engine.transfer(call, exten, context)

    async def hangup(self, call: QueueCall, by: HangupSide = "caller") -> None:
        self.queue_engine.hangup(call, by)

    async def abandon(self, call: QueueCall) -> None:
        self.queue_engine.abandon(call)

    async def press(self, call: QueueCall, digit: str) -> None:
        """The caller presses a key (exit by key in the queue, or the overflow's choice)."""
        self.queue_engine.press(call, digit)

    def hang_up_channel(self, name: str) -> bool:
        """The phone of channel `name` hangs up (for legs outside the queue too)."""
        ch = self.core.find_channel(name)
        return ch is not None and self.core.hang_up(ch)

    @property
    def direct_calls(self) -> list[DirectCall]:
        """Calls a transfer started outside the queue (to an agent or an outside number)."""
        return self.transfers.calls

    @property
    def calls(self) -> list[QueueCall]:
        return self.queue_engine.calls

    @property
    def survey_calls(self) -> list[SurveyCall]:
        return self.originate.calls

    async def wait_survey_calls(self, count: int = 1) -> list[SurveyCall]:
        return await self.originate.wait_calls(count)

    async def __aenter__(self) -> PbxSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

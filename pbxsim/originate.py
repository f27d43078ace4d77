"""Outbound calls: the AMI Originate action, the customer's phone, and the survey dialplan.

A survey call goes Originate -> customer phone rings -> answers -> `[survey]` context ->
`AGI(agi://<agi host>:<port>/survey,${SURVEY_ID},${SURVEY_TOKEN})`, exactly as the
production dialplan in deploy/asterisk/extensions.conf does; failures look like Asterisk
22's (originate-failed.txt).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog

from pbxsim.agi_client import AgiCommands, AgiTarget, run_agi
from pbxsim.ami_server import AmiServer, AmiSession
from pbxsim.chanspy import run_chanspy
from pbxsim.core import PbxCore, phone_identity
from pbxsim.customer_line import CustomerLine
from pbxsim.model import INUSE, NOT_INUSE, RINGING, UNKNOWN, Channel, clean, trim
from pbxsim.phones import AgentPhone, CustomerPhone
from pbxsim.queue_calls import QueueCall
from pbxsim.tasks import BackgroundTasks
from pbxsim.templates import (
    Fields,
    cdr,
    chan_event,
    device_state,
    dial_event,
    hangup,
    newexten,
    user_event,
    varset,
)
from telephony.ami.protocol import AmiMessage

log = structlog.get_logger()

_CALLER_ID = re.compile(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$')
_FAILURES = {"busy": (17, 486, "BUSY"), "congestion": (34, 503, "CONGESTION")}
_AGENT = re.compile(r"^PJSIP/agent\d+$")
_SUPERVISOR = re.compile(r"^PJSIP/super\d+$")
# A supervisor's phone answers a second after it rings and stays until hung up
# (set `sim.set_customer_phone("PJSIP/super201", ...)` for another behaviour).
SUPERVISOR_PHONE = CustomerPhone(ring=1.0)
AGENTS_CONTEXT = "from-agents"


def parse_caller_id(value: str | None) -> tuple[str, str]:
    """`"Hotline Survey" <1169>` -> ("1169", "Hotline Survey"); missing parts are <unknown>."""
    if not value:
        return UNKNOWN, UNKNOWN
    match = _CALLER_ID.match(value)
    if match is None:
        return clean(value.strip()), UNKNOWN
    name, number = match.group(1).strip(), match.group(2).strip()
    return clean(number) or UNKNOWN, clean(name) or UNKNOWN


@dataclass
class OriginateRequest:
    dial: str  # the Channel header, e.g. PJSIP/0812345678@trunk
    context: str
    exten: str
    priority: str
    # An Originate straight into an application (only ChanSpy is simulated), with its Data.
    application: str | None
    data: str
    timeout: float
    caller_id: tuple[str, str]
    variables: dict[str, str]
    channel_id: str | None
    action_id: str | None
    is_async: bool

    @property
    def tech(self) -> str:
        return self.dial.split("/", 1)[0]

    @property
    def resource(self) -> str:
        return self.dial.split("/", 1)[-1]

    @property
    def number(self) -> str:
        return self.resource.split("@", 1)[0]

    @property
    def endpoint(self) -> str:
        resource = self.resource
        return f"{self.tech}/{resource.split('@', 1)[1] if '@' in resource else resource}"

    @property
    def endpoint_context(self) -> str:
        """The new channel starts in its endpoint's context (pjsip.conf `context =`)."""
        return "from-trunk" if "@" in self.resource else "from-agents"

    @classmethod
    def from_action(cls, m: AmiMessage) -> OriginateRequest:
        variables: dict[str, str] = {}
        for header in m.getall("Variable"):
            for item in header.split(","):
                key, sep, value = item.partition("=")
                if sep and key.strip():
                    variables[clean(key.strip())] = clean(value)
        try:
            timeout = int(m.get("Timeout") or 30000) / 1000
        except ValueError:
            timeout = 30.0
        return cls(
            dial=clean(m.get("Channel") or ""),
            context=clean(m.get("Context") or "default"),
            exten=clean(m.get("Exten") or "s"),
            priority=clean(m.get("Priority") or "1"),
            application=clean(m.get("Application") or "") or None,
            data=clean(m.get("Data") or ""),
            timeout=timeout,
            caller_id=parse_caller_id(m.get("CallerID")),
            variables=variables,
            channel_id=clean(m.get("ChannelId") or "")[:149] or None,
            action_id=m.action_id,
            is_async=(m.get("Async") or "").strip().lower() in ("true", "yes", "1", "on"),
        )


@dataclass
class SurveyCall:
    """One originated call as the customer lived it: tests assert on `heard` and `outcome`."""

    number: str
    phone: CustomerPhone
    request: OriginateRequest | None = None
    channel: Channel | None = None
    outcome: str = "pending"
    agi_status: str | None = None
    heard: list[str] = field(default_factory=list)
    pressed: list[str] = field(default_factory=list)
    agi_commands: list[str] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def uniqueid(self) -> str | None:
        return self.channel.uniqueid if self.channel else None


class OriginateEngine:
    def __init__(
        self,
        core: PbxCore,
        *,
        agi_host: str = "127.0.0.1",
        agi_port: int = 4573,
        survey_context: str = "survey",
        pbx_name: str = "main",
        phones: Mapping[str, CustomerPhone] | None = None,
        default_phone: CustomerPhone | None = None,
        prompt_seconds: float = 0.5,
    ) -> None:
        self.core = core
        self.agi_host = agi_host
        self.agi_port = agi_port
        self.survey_context = survey_context
        self.pbx_name = pbx_name
        self.phones: dict[str, CustomerPhone] = dict(phones or {})
        self.default_phone = default_phone or CustomerPhone.answers("5")
        self.prompt_seconds = prompt_seconds
        self.calls: list[SurveyCall] = []
        # Set by the simulator: the PJSIP endpoints that exist (None: any), the agents'
        # phones, and who runs `[from-agents]` for an originated agent call (click-to-call).
        self.endpoints: frozenset[str] | None = None
        self.agent_phone: Callable[[str], AgentPhone] | None = None
        self.agents_dialplan: Callable[[Channel, str], None] | None = None
        self._tasks = BackgroundTasks("originate")
        self._hangups: dict[str, asyncio.Event] = {}
        self._changed = asyncio.Condition()
        core.hangup_hooks.append(self._hangup_channel)

    def register(self, server: AmiServer) -> None:
        server.register("Originate", self.originate_action)

    def phone_for(self, request: OriginateRequest) -> CustomerPhone:
        direct = "@" not in request.resource
        if direct and self.endpoints is not None and request.endpoint not in self.endpoints:
            return CustomerPhone.unknown()
        if request.dial in self.phones:
            return self.phones[request.dial]  # a test set this very phone's behaviour
        if direct and _SUPERVISOR.match(request.endpoint):
            return SUPERVISOR_PHONE
        if direct and self.agent_phone is not None and _AGENT.match(request.endpoint):
            ring = self.agent_phone(request.endpoint).answer_after
            return CustomerPhone.no_answer() if ring is None else CustomerPhone(ring=ring)
        return self.phones.get(request.number, self.phones.get(request.dial, self.default_phone))

    async def originate_action(self, session: AmiSession, m: AmiMessage) -> None:
        request = OriginateRequest.from_action(m)
        if not request.dial or "/" not in request.dial:
            session.error(m, "Channel not specified" if not request.dial else "Invalid channel")
            return
        if request.application not in (None, "ChanSpy"):
            session.error(m, "Originate failed")
            return
        call = SurveyCall(request.number, self.phone_for(request), request)
        self.calls.append(call)
        if request.is_async:
            session.respond(m, "Success", ("Message", "Originate successfully queued"))
            self._tasks.spawn(self._run(call, None))
            return
        if call.phone.outcome != "answer":
            session.error(m, "Originate failed")
            self._tasks.spawn(self._run(call, None))
            return
        answered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._tasks.spawn(self._run(call, answered))
        if await answered:
            session.respond(m, "Success", ("Message", "Originate successfully queued"))
        else:
            session.error(m, "Originate failed")

    async def wait_calls(self, count: int) -> list[SurveyCall]:
        """Wait until `count` originated calls have ended."""
        async with self._changed:
            await self._changed.wait_for(lambda: sum(c.ended.is_set() for c in self.calls) >= count)
        return [c for c in self.calls if c.ended.is_set()][:count]

    # the call -----------------------------------------------------------------------
    async def _run(self, call: SurveyCall, answered: asyncio.Future[bool] | None) -> None:
        try:
            ok = await self._dial(call)
            if answered is not None and not answered.done():
                answered.set_result(ok)
            if ok:
                await self._dialplan(call)
        finally:
            if answered is not None and not answered.done():
                answered.set_result(False)
            if call.channel is not None:
                self._hangups.pop(call.channel.uniqueid, None)
            await self._ended(call)

    async def _ended(self, call: SurveyCall) -> None:
        call.ended.set()
        trim(self.calls, lambda c: c.ended.is_set())
        async with self._changed:
            self._changed.notify_all()
        log.info("sim_survey_call_done", number=call.number, outcome=call.outcome)

    def _respond(self, call: SurveyCall, success: bool, reason: int) -> None:
        """OriginateResponse: only an Async originate gets one (a sync one has its Response)."""
        if call.request is not None and call.request.is_async:
            self.core.emit(self._response(call, success, reason))

    def _response(self, call: SurveyCall, success: bool, reason: int) -> Fields:
        request, ch = call.request, call.channel
        assert request is not None
        head: Fields = [("Event", "OriginateResponse"), ("Privilege", "call,all")]
        if request.action_id is not None:
            head.append(("ActionID", request.action_id))
        number, name = (ch.caller_num, ch.caller_name) if ch else request.caller_id
        variables = (
            [(f"ChanVariable({ch.name})", f"{v}={ch.variables.get(v, '')}") for v in ch.channelvars]
            if ch is not None and success
            else []
        )
        return [
            *head,
            ("Response", "Success" if success else "Failure"),
            ("Channel", ch.name if success and ch else request.dial),
            *(
                [("Application", request.application), ("Data", request.data)]
                if request.application
                else [("Context", request.context), ("Exten", request.exten)]
            ),
            ("Reason", str(reason)),
            ("Uniqueid", ch.uniqueid if success and ch else UNKNOWN),
            ("CallerIDNum", number),
            ("CallerIDName", name),
            *variables,
        ]

    async def _dial(self, call: SurveyCall) -> bool:
        """Ring the customer; True when answered (OriginateResponse Reason 4)."""
        request, phone, emit = call.request, call.phone, self.core.emit
        assert request is not None
        if phone.outcome == "invalid":
            call.outcome = "failed"
            self._respond(call, False, 0)
            return False
        # A phone of this PBX presents its own caller id (pjsip.conf `callerid`).
        own_num, own_name = phone_identity(request.endpoint) or (UNKNOWN, UNKNOWN)
        ch = self.core.new_channel(
            request.endpoint,
            caller_num=own_num,
            caller_name=own_name,
            context=request.endpoint_context,
            exten="s",
            uniqueid=request.channel_id,
        )
        call.channel = ch
        ch.application, ch.application_data = "AppDial2", "(Outgoing Line)"
        emit(chan_event("Newchannel", ch))
        emit(newexten(ch, "AppDial2", "(Outgoing Line)"))
        for key, value in request.variables.items():
            ch.variables[key] = value
            emit(varset(ch, key, value))
        if request.caller_id != (UNKNOWN, UNKNOWN):
            if request.caller_id != (ch.caller_num, ch.caller_name):
                ch.caller_num, ch.caller_name = request.caller_id
                emit(
                    chan_event(
                        "NewCallerid",
                        ch,
                        ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)"),
                    )
                )
            ch.connected_num, ch.connected_name = request.caller_id
            emit(chan_event("NewConnectedLine", ch))
        emit(dial_event("DialBegin", None, ch, ("DialString", request.resource)))
        if phone.outcome in _FAILURES:
            cause, tech_cause, status = _FAILURES[phone.outcome]
            emit(
                chan_event(
                    "HangupRequest", ch, ("Cause", str(cause)), ("TechCause", str(tech_cause))
                )
            )
            emit(dial_event("DialEnd", None, ch, ("DialStatus", status)))
            emit(hangup(ch, cause, tech_cause))
            self.core.drop_channel(ch)
            call.outcome = phone.outcome
            self._respond(call, False, 0)
            return False
        ch.state = 5
        emit(chan_event("Newstate", ch))
        emit(device_state(request.endpoint, RINGING))
        emit(dial_event("DialState", None, ch, ("DialStatus", "RINGING")))
        hung = self._hangups.setdefault(ch.uniqueid, asyncio.Event())
        ring = phone.ring if phone.outcome == "answer" else request.timeout
        if await self.core.clock.wait(hung, min(ring, request.timeout)) or ring >= request.timeout:
            call.outcome = "noanswer"
            self._respond(call, False, 3)
            emit(hangup(ch, 19, 480))
            self.core.drop_channel(ch)
            emit(device_state(request.endpoint, NOT_INUSE))
            return False
        ch.state, ch.answered = 6, self.core.clock.now()
        emit(chan_event("Newstate", ch))
        emit(dial_event("DialEnd", None, ch, ("DialStatus", "ANSWER")))
        self._respond(call, True, 4)
        emit(device_state(request.endpoint, INUSE))
        call.outcome = "answered"
        return True

    async def _dialplan(self, call: SurveyCall) -> None:
        ch, request, emit = call.channel, call.request, self.core.emit
        assert ch is not None and request is not None
        if request.application == "ChanSpy":
            hung = self._hangups.setdefault(ch.uniqueid, asyncio.Event())
            await run_chanspy(self.core, ch, request.data, hung, call.phone.hangup_after)
            emit(device_state(request.endpoint, NOT_INUSE))
            return
        ch.context, ch.exten, ch.priority = request.context, request.exten, 1
        if request.context == AGENTS_CONTEXT and self.agents_dialplan is not None:
            # Click-to-call: the agent answered; `[from-agents]` dials the citizen.
            ch.priority = 0
            self.agents_dialplan(ch, request.exten)
            return
        last_app, by_agi, hung_up = "Hangup", False, False
        if request.context == self.survey_context:
            ch.application = "NoOp"
            emit(newexten(ch, "NoOp", f"Survey call to {ch.caller_num}"))
            ch.priority = 2
            emit(newexten(ch, "Answer", ""))
            ch.priority = 3
            args = tuple(ch.variables.get(name, "") for name in ("SURVEY_ID", "SURVEY_TOKEN"))
            target = AgiTarget(self.agi_host, self.agi_port, "survey", args)
            by_agi, hung_up = await self._agi(call, ch, target)
            last_app = "AGI"
        if not hung_up and not by_agi:
            ch.priority += 1
            score = ch.variables.get("SURVEY_SCORE", "")
            status = ch.variables.get("AGISTATUS", "")
            emit(newexten(ch, "NoOp", f"AGISTATUS={status} SURVEY_SCORE={score}"))
            ch.priority += 1
            emit(newexten(ch, "Hangup", ""))
            last_app = "Hangup"
        emit(chan_event("SoftHangupRequest", ch, ("Cause", "16")))
        self.core.emit_rtp_qos(ch)
        emit(hangup(ch, 16))
        self.core.drop_channel(ch)
        emit(device_state(request.endpoint, NOT_INUSE))
        emit(
            cdr(
                ch,
                "",
                last_app=last_app,
                last_data=ch.application_data if last_app == "AGI" else "",
                start=ch.created,
                answer=ch.answered,
                end=self.core.clock.now(),
                disposition="ANSWERED",
            )
        )

    async def incall_survey(self, queue_call: QueueCall) -> None:
        """`Queue(hotline,c)` then the in-call survey AGI, once the agent has hung up."""
        ch = queue_call.caller
        phone = self.phones.get(ch.caller_num, self.default_phone)
        call = SurveyCall(ch.caller_num, phone, channel=ch, outcome="answered")
        self.calls.append(call)
        queue = queue_call.queue.name
        # deploy/asterisk/extensions.conf after Queue(): report QUEUESTATUS, two GotoIf tests.
        ch.priority += 1
        exit_data = f"QueueExit,Queue: {queue},Status: CONTINUE,Uniqueid: {ch.uniqueid}"
        self.core.emit(newexten(ch, "UserEvent", exit_data))
        self.core.emit(user_event(ch, exit_data))
        for _ in range(2):
            ch.priority += 1
            self.core.emit(newexten(ch, "GotoIf", "0?done"))
        ch.priority += 1
        args = (self.pbx_name, queue)
        try:
            await self._agi(
                call, ch, AgiTarget(self.agi_host, self.agi_port, "survey-incall", args)
            )
        finally:
            await self._ended(call)

    async def _agi(self, call: SurveyCall, ch: Channel, target: AgiTarget) -> tuple[bool, bool]:
        """Run the AGI step; return (the AGI hung up, the customer hung up)."""
        ch.application = "AGI"
        ch.application_data = ",".join((target.url, *target.args))
        self.core.emit(newexten(ch, "AGI", ch.application_data))
        line = CustomerLine(call.phone, self.core.clock, lambda digit: self._dtmf(ch, digit))
        call.heard, call.pressed = line.heard, line.pressed
        hung = self._hangups.setdefault(ch.uniqueid, asyncio.Event())
        watcher = asyncio.ensure_future(self._forward_hangup(hung, line))
        line.answered()
        commands = AgiCommands(ch, line, self.core.emit, self.prompt_seconds)
        call.agi_commands = commands.commands
        try:
            status = await run_agi(target, commands)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            await line.close()
            self._hangups.pop(ch.uniqueid, None)
        call.agi_status = status
        ch.variables["AGISTATUS"] = status
        self.core.emit(varset(ch, "AGISTATUS", status))
        return commands.hangup_requested, line.hungup.is_set()

    @staticmethod
    async def _forward_hangup(hung: asyncio.Event, line: CustomerLine) -> None:
        await hung.wait()
        line.hungup.set()

    def _dtmf(self, ch: Channel, digit: str) -> None:
        self.core.emit(
            chan_event(
                "DTMFBegin", ch, ("Digit", digit), ("Direction", "Received"), privilege="dtmf,all"
            )
        )
        self.core.emit(
            chan_event(
                "DTMFEnd",
                ch,
                ("Digit", digit),
                ("DurationMs", "280"),
                ("Direction", "Received"),
                privilege="dtmf,all",
            )
        )

    def _hangup_channel(self, ch: Channel) -> bool:
        event = self._hangups.get(ch.uniqueid)
        if event is None:
            return False
        event.set()
        return True

    async def close(self) -> None:
        await self._tasks.close()

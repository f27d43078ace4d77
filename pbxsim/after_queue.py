"""The caller back in the dialplan after Queue(): the QueueExit UserEvent, the overflow, Hangup.

Event for event as queue-timeout-exit-dialplan.txt and redirect-hangup-ami.txt show it: the
UserEvent is preceded by its Newexten; `Hangup()` gives SoftHangupRequest Cause 16 then the
Hangup; a caller who hangs up during the overflow message gives HangupRequest instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from pbxsim.core import PbxCore
from pbxsim.dialplan import (
    CALLBACK_KEY,
    CALLBACK_PROMPT,
    OVERFLOW_CONTEXT,
    OVERFLOW_PROMPT,
    InboundPlan,
)
from pbxsim.templates import chan_event, newexten, user_event

if TYPE_CHECKING:
    from pbxsim.queue_calls import QueueCall

Leave = Callable[["QueueCall", str, bool], None]
OVERFLOW_STATUSES = ("TIMEOUT", "EXITWITHKEY")


class QueueExitPlan:
    """Runs the dialplan lines that follow Queue() for one caller; `leave` ends the channel."""

    def __init__(self, core: PbxCore, plan: InboundPlan, leave: Leave) -> None:
        self.core = core
        self.plan = plan
        self.leave = leave

    def exit_event(self, call: QueueCall, status: str, digit: str = "") -> None:
        """`UserEvent(QueueExit,...)`: the line after Queue(), or the exit context's."""
        template = self.plan.key_exit_event if status == "EXITWITHKEY" else self.plan.exit_event
        if template is None:
            return
        ch = call.caller
        data = template.format(
            queue=call.queue.name, status=status, digit=digit, uniqueid=ch.uniqueid
        )
        self.step(call, "UserEvent", data)
        self.core.emit(user_event(ch, data))

    def hang_up_line(self, call: QueueCall) -> None:
        """`Hangup()`: Asterisk asks the channel to hang up (SoftHangupRequest Cause 16)."""
        self.step(call, "Hangup", "")
        self.core.emit(chan_event("SoftHangupRequest", call.caller, ("Cause", "16")))

    async def run(self, call: QueueCall, status: str, digit: str = "") -> None:
        """From the return of Queue() to the end of the call."""
        self.exit_event(call, status, digit)
        if not (self.plan.overflow and status in OVERFLOW_STATUSES):
            self.hang_up_line(call)
            self.leave(call, status.lower(), False)
            return
        self.step(call, "GotoIf", f"1?{OVERFLOW_CONTEXT},s,1")
        call.caller.context, call.caller.exten, call.caller.priority = OVERFLOW_CONTEXT, "s", 0
        choice = await self._read(call)
        if choice is None:
            self.leave(call, status.lower(), True)
            return
        self.step(call, "GotoIf", f"{int(choice != CALLBACK_KEY)}?done")
        if choice == CALLBACK_KEY:
            data = self.plan.callback_event.format(
                queue=call.queue.name, number=call.caller.caller_num, uniqueid=call.uniqueid
            )
            self.step(call, "UserEvent", data)
            self.core.emit(user_event(call.caller, data))
            self.step(call, "Playback", CALLBACK_PROMPT)
            if await self._caller_hangs_up(call, self.plan.prompt_seconds):
                self.leave(call, "callback", True)
                return
        self.hang_up_line(call)
        self.leave(call, "callback" if choice == CALLBACK_KEY else status.lower(), False)

    async def _read(self, call: QueueCall) -> str | None:
        """`Read()` of one digit during the overflow message; None when the caller hung up."""
        self.step(call, "Read", f"HOTLINE_CHOICE,{OVERFLOW_PROMPT},1,,1,{self.plan.read_seconds:g}")
        key = asyncio.ensure_future(call.keys.get())
        gone = asyncio.ensure_future(call.gone.wait())
        try:
            await asyncio.wait(
                (key, gone),
                timeout=self.core.clock.real(self.plan.read_seconds),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for task in (key, gone):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if call.gone.is_set():
            return None
        return key.result() if key.done() and not key.cancelled() else ""

    async def _caller_hangs_up(self, call: QueueCall, seconds: float) -> bool:
        return await self.core.clock.wait(call.gone, seconds)

    def step(self, call: QueueCall, application: str, data: str) -> None:
        ch = call.caller
        ch.priority += 1
        ch.application, ch.application_data = application, data
        self.core.emit(newexten(ch, application, data))

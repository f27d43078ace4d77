"""What `[from-trunk]` does around `Queue()`: its options, its timeout, and the steps after it.

The shipped dialplan (deploy/asterisk/extensions.conf) reports every return from the queue as
`UserEvent(QueueExit,...)` (Status TIMEOUT, EXITWITHKEY with the Digit, CONTINUE), leads a
timed-out caller (or one who pressed a key) to the overflow message that offers a callback on
1 (`UserEvent(CallbackRequest,...)`), then hangs up. The lab of the first captures ran a bare
`Queue(hotline)` with none of that.
"""

from __future__ import annotations

from dataclasses import dataclass

SHIPPED_EXIT = "QueueExit,Queue: {queue},Status: {status},Uniqueid: {uniqueid}"
SHIPPED_KEY_EXIT = (
    "QueueExit,Queue: {queue},Status: EXITWITHKEY,Digit: {digit},Uniqueid: {uniqueid}"
)
# With recording on (HOTLINE_RECORDING=true): the notice, then its UserEvent, before Queue().
SHIPPED_NOTICE = "RecordingNotice,Queue: {queue},Languages: th+en,Uniqueid: {uniqueid}"
NOTICE_PROMPT = "hotline/th/recording_notice&hotline/en/recording_notice"
SHIPPED_CALLBACK = "CallbackRequest,Queue: {queue},Number: {number},Uniqueid: {uniqueid}"
OVERFLOW_CONTEXT = "hotline-overflow"
OVERFLOW_PROMPT = "hotline/th/overflow"
CALLBACK_PROMPT = "hotline/th/callback"
CALLBACK_KEY = "1"


@dataclass(frozen=True)
class InboundPlan:
    """The inbound extension's Queue() call and what the dialplan does once it returns."""

    options: str = ""
    timeout: float | None = None
    exit_event: str | None = None
    exit_context: str | None = None
    key_exit_event: str | None = None
    overflow: bool = False
    callback_event: str = SHIPPED_CALLBACK
    read_seconds: float = 8.0
    prompt_seconds: float = 3.0
    notice_event: str | None = None
    notice_seconds: float = 1.0

    @classmethod
    def shipped(cls, timeout: float | None = 120.0, *, recording: bool = False) -> InboundPlan:
        """deploy/asterisk: Queue(hotline,ct,,,timeout), exit by key, overflow with callback;
        with `recording`, the recording notice before the queue."""
        return cls(
            options="ct",
            timeout=timeout,
            exit_event=SHIPPED_EXIT,
            exit_context="hotline-exit",
            key_exit_event=SHIPPED_KEY_EXIT,
            overflow=True,
            notice_event=SHIPPED_NOTICE if recording else None,
        )

    @property
    def continues(self) -> bool:
        """Option `c`: the caller goes on in the dialplan when the agent leg ends."""
        return "c" in self.options

    def app_data(self, queue: str) -> str:
        """Queue()'s AppData as Newexten shows it: `hotline`, `hotline,ct`, `hotline,,,,8`."""
        if self.timeout is None:
            return f"{queue},{self.options}" if self.options else queue
        return f"{queue},{self.options},,,{self.timeout:g}"

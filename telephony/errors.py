"""Domain errors of the telephony package, each with a stable `code` for callers and the UI."""

from __future__ import annotations


class TelephonyError(Exception):
    """Base of every error telephony raises on purpose."""

    code = "telephony_error"

    def __init__(self, pbx: str, message: str) -> None:
        super().__init__(f"{pbx}: {message}")
        self.pbx = pbx
        self.message = message


class PbxUnavailable(TelephonyError):
    """The PBX cannot be reached or its AMI link is not logged in."""

    code = "pbx_unavailable"

    def __init__(self, pbx: str, why: str) -> None:
        super().__init__(pbx, f"PBX unavailable: {why}")
        self.why = why


class CommandFailed(TelephonyError):
    """Asterisk answered an action with an error."""

    code = "command_failed"

    def __init__(self, pbx: str, action: str, message: str) -> None:
        super().__init__(pbx, f"{action} failed: {message}")
        self.action = action
        self.message = message


class CommandTimeout(TelephonyError):
    """Asterisk did not answer an action in time."""

    code = "command_timeout"

    def __init__(self, pbx: str, action: str, timeout: float) -> None:
        super().__init__(pbx, f"{action} got no answer within {timeout:g} s")
        self.action = action
        self.timeout = timeout


class NotAMember(CommandFailed):
    """The interface is not a member of the queue (pause, unpause, remove)."""

    code = "not_a_member"


class AlreadyAMember(CommandFailed):
    """The interface is already a member of the queue (add)."""

    code = "already_a_member"


class NotDynamicMember(CommandFailed):
    """A static member (from queues.conf) cannot be removed over AMI."""

    code = "not_dynamic_member"


class NoSuchQueue(CommandFailed):
    """The queue named in the action does not exist."""

    code = "no_such_queue"


class NoSuchChannel(CommandFailed):
    """The channel to act on does not exist (any more)."""

    code = "no_such_channel"


class NoTransferTarget(CommandFailed):
    """A transfer named no extension to go to."""

    code = "no_transfer_target"


class NoAtxferFeature(CommandFailed):
    """Attended transfer needs an `atxfer` feature code in features.conf when the call began."""

    code = "no_atxfer_feature"


class NoConsultation(CommandFailed):
    """There is no attended-transfer consultation on this channel to cancel."""

    code = "no_consultation"


class OriginateFailed(TelephonyError):
    """Asterisk refused to place an outbound call at all."""

    code = "originate_failed"

    def __init__(self, pbx: str, reason: str) -> None:
        super().__init__(pbx, f"originate failed: {reason}")
        self.reason = reason

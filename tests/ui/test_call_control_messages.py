"""Every refusal call control can answer has a message on the panel, in Thai and English."""

from __future__ import annotations

import json
import re
from typing import get_args

from agent_ui import call_control
from telephony import errors
from telephony.commands import Outcome
from web.i18n import LOCALES_DIR
from web.templating import STATIC_DIR

MESSAGES = STATIC_DIR.parent / "templates" / "panel" / "_call_control_messages.html"


def _codes(base: type) -> set[str]:
    found = {sub.__dict__["code"] for sub in base.__subclasses__() if "code" in sub.__dict__}
    for sub in base.__subclasses__():
        found |= _codes(sub)
    return found


# Refusals of queue membership: the availability controls' business, never call control's.
MEMBERSHIP = {
    errors.NotAMember.code,
    errors.AlreadyAMember.code,
    errors.NotDynamicMember.code,
    errors.NoSuchQueue.code,
}


def refusal_codes() -> set[str]:
    originate = {f"originate_{outcome}" for outcome in get_args(Outcome) if outcome != "answered"}
    telephony = (_codes(errors.TelephonyError) | {errors.CommandFailed.code}) - MEMBERSHIP
    return telephony | _codes(call_control.CallControlRefused) | originate | {"missing_call"}


def test_each_refusal_has_a_translated_message_on_the_panel() -> None:
    template = (
        STATIC_DIR.parent / "templates" / "panel" / "_call_control_messages.html"
    ).read_text()
    listed = set(
        re.findall(r'"([a-z_]+)"', template.split("{% for code in (", 1)[1].split(") %}", 1)[0])
    )
    texts = json.loads((LOCALES_DIR / "calls.json").read_text("utf-8"))
    missing = refusal_codes() - listed
    assert missing == set(), f"add these codes to _call_control_messages.html: {missing}"
    for code in listed:
        assert all(texts[f"calls.error.{code}"][lang].strip() for lang in ("th", "en")), code

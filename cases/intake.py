"""The intake form (TPQI FM-QP-SA-03-01) read from untrusted form fields into typed data.

Field errors come back as codes per field, so the page can show each next to its input and
keep everything the agent typed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TypeVar

from cases.errors import InvalidCaseData
from cases.lifecycle import CaseType, Channel

MAX_SHORT = 200
MAX_DETAILS = 20_000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{1,30}$")
GENDERS = frozenset({"", "male", "female", "other", "unspecified"})
E = TypeVar("E", CaseType, Channel)
AGE_BANDS = frozenset({"", "under_20", "20_29", "30_39", "40_49", "50_59", "60_plus"})
# How the caller wants to be told of their case (notices); "" is not asked.
NOTIFY_BY = ("email", "sms", "line", "none")


@dataclass(frozen=True)
class IntakeForm:
    channel: Channel
    case_type: CaseType
    topic: str
    details: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    occupation: str = ""
    gender: str = ""
    age_band: str = ""
    province: str = ""
    notify_by: str = ""
    significant: bool = False

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> IntakeForm:
        """Validate raw form fields; raises InvalidCaseData with every bad field at once."""
        text = {name: _clean(data.get(name, "")) for name in FIELD_NAMES}
        errors: dict[str, str] = {}
        channel = _choice(text["channel"], Channel, "channel", errors)
        case_type = _choice(text["case_type"], CaseType, "case_type", errors)
        if not text["topic"]:
            errors["topic"] = "required"
        for name in FIELD_NAMES:
            limit = MAX_DETAILS if name == "details" else MAX_SHORT
            if len(text[name]) > limit:
                errors[name] = "too_long"
        if text["contact_email"] and not EMAIL.match(text["contact_email"]):
            errors["contact_email"] = "invalid"
        if text["contact_phone"] and not PHONE.match(text["contact_phone"]):
            errors["contact_phone"] = "invalid"
        if text["gender"] not in GENDERS:
            errors["gender"] = "invalid"
        if text["age_band"] not in AGE_BANDS:
            errors["age_band"] = "invalid"
        if text["notify_by"] not in ("", *NOTIFY_BY):
            errors["notify_by"] = "invalid"
        elif text["notify_by"] == "email" and not text["contact_email"]:
            errors["contact_email"] = "required"
        elif text["notify_by"] == "sms" and not text["contact_phone"]:
            errors["contact_phone"] = "required"
        if errors or channel is None or case_type is None:
            raise InvalidCaseData(errors)
        return cls(
            channel=channel,
            case_type=case_type,
            topic=text["topic"],
            details=text["details"],
            contact_name=text["contact_name"],
            contact_phone=text["contact_phone"],
            contact_email=text["contact_email"],
            occupation=text["occupation"],
            gender=text["gender"],
            age_band=text["age_band"],
            province=text["province"],
            notify_by=text["notify_by"],
            significant=data.get("significant", "") in ("on", "true", "1", "yes"),
        )


FIELD_NAMES = tuple(f.name for f in fields(IntakeForm) if f.name != "significant")


def _clean(value: object) -> str:
    """Form values are strings; anything else (or a NUL PostgreSQL refuses) is dropped."""
    if not isinstance(value, str):
        return ""
    return value.replace("\x00", "").strip()


def _choice(value: str, enum: type[E], name: str, errors: dict[str, str]) -> E | None:
    if not value:
        errors[name] = "required"
        return None
    try:
        return enum(value)
    except ValueError:
        errors[name] = "invalid"
        return None

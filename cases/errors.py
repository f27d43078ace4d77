"""Domain errors of the case system: a stable code, an HTTP status and details.

Views render them through one handler, so every error a user can meet has a code that
tests and translations can rely on, whatever the wording of the message.
"""

from __future__ import annotations

from typing import Any, ClassVar


class CaseError(Exception):
    """Base of every case-domain error."""

    code: ClassVar[str] = "case_error"
    status: ClassVar[int] = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class CaseNotFound(CaseError):
    code = "case_not_found"
    status = 404


class UnitNotFound(CaseError):
    code = "unit_not_found"
    status = 404


class TransitionNotAllowed(CaseError):
    """A lifecycle move the transition table forbids (e.g. closing an unresolved case)."""

    code = "transition_not_allowed"
    status = 409


class AccessDenied(CaseError):
    """The user's role or unit does not entitle them to this case or action."""

    code = "access_denied"
    status = 403


class InvalidCaseData(CaseError):
    """Form data that cannot be saved; `field_errors` maps a field name to an error code."""

    code = "invalid_case_data"
    status = 422

    def __init__(self, field_errors: dict[str, str]) -> None:
        fields = ", ".join(sorted(field_errors))
        super().__init__(f"invalid case data: {fields}", fields=field_errors)
        self.field_errors = field_errors


class ExportTooLarge(CaseError):
    """More rows than one export may hold: the user narrows the filter rather than getting
    a file that silently misses rows."""

    code = "export_too_large"
    status = 413

"""Saving an intake form, wherever it was filled in (the agent panel or `/cases/new`).

Both doors go through this one object, so a case from either gets the same SLA and a
significant complaint reaches senior management at once from either (ISO 10002), not at the
escalation job's next interval.
"""

from __future__ import annotations

from datetime import datetime

from cases.escalation import EscalationJob
from cases.intake import IntakeForm
from cases.lifecycle import CaseType
from cases.models import Actor, Case
from cases.repository import CaseRepository


class CaseIntake:
    """Creates and corrects cases from intake forms, nudging escalation when one must not wait."""

    def __init__(self, repository: CaseRepository, escalation: EscalationJob) -> None:
        self._repository = repository
        self._escalation = escalation

    async def create(
        self,
        form: IntakeForm,
        *,
        actor: Actor,
        now: datetime,
        call_id: int | None = None,
        caller_id: int | None = None,
    ) -> Case:
        case = await self._repository.create_case(
            form, actor=actor, now=now, call_id=call_id, caller_id=caller_id
        )
        self._escalate_if_significant(form)
        return case

    async def update(self, case_id: int, form: IntakeForm, *, actor: Actor, now: datetime) -> Case:
        case = await self._repository.update_case(case_id, form, actor=actor, now=now)
        self._escalate_if_significant(form)
        return case

    def _escalate_if_significant(self, form: IntakeForm) -> None:
        if form.significant and form.case_type is CaseType.COMPLAINT:
            self._escalation.nudge()

"""In-call mode: the dialplan hands the caller to the survey when the agent hangs up.

The FastAGI request is `survey-incall` with agi_arg_1 = the PBX name and agi_arg_2 = the
queue, so that with the caller's `agi_uniqueid` it names the same call_key as the tracker.
"""

from __future__ import annotations

import structlog

from ivr.agi import AgiChannel
from ivr.config import SurveySettings
from ivr.queue import SurveyQueue
from ivr.scheduler import SurveyScheduler
from ivr.script import Dialogue, hang_up
from runtime.clock import Clock
from telephony.events import make_call_key

log = structlog.get_logger()

MAX_NAME = 80


class InCallScript:
    """Creates the survey row as the session starts, then runs the same dialogue."""

    def __init__(
        self,
        settings: SurveySettings,
        queue: SurveyQueue,
        scheduler: SurveyScheduler,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._queue = queue
        self._scheduler = scheduler
        self._clock = clock
        self._dialogue = Dialogue(settings, queue, clock)

    async def __call__(self, channel: AgiChannel) -> None:
        env = channel.env
        args = env.args
        pbx, queue_name = (*args, "", "")[:2]
        uniqueid = env.uniqueid
        too_long = max(len(pbx), len(queue_name), len(uniqueid)) > MAX_NAME
        if not (pbx and queue_name and uniqueid) or too_long:
            log.warning("survey_incall_bad_request", args=[a[:MAX_NAME] for a in args[:2]])
            await hang_up(channel)
            return
        call_key = make_call_key(pbx, queue_name, uniqueid)
        now = self._clock.now()
        plan = self._scheduler.plan_in_call(
            call_key, pbx, queue_name, env.values.get("callerid", ""), now
        )
        result = await self._queue.schedule(plan, now, min_gap=self._scheduler.min_gap)
        if result.survey_id is None or result.status != "in_progress":
            log.info("survey_incall_skipped", call_key=call_key, reason=result.reason)
            await hang_up(channel)
            return
        await self._dialogue.run(channel, result.survey_id, plan.language)

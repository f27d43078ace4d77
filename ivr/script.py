"""The survey dialogue run on a FastAGI channel: greet, ask 1/2/3, confirm, thank, hang up."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime
from typing import Protocol

import structlog

from ivr.agi import AgiChannel, AgiHangup
from ivr.config import SurveySettings
from runtime.clock import Clock

RATING_DIGITS = {"1": 1, "2": 2, "3": 3}
PROMPT_NAMES = (
    "greeting",
    "question",
    "invalid",
    "no_input",
    *(f"confirm_{rating}" for rating in RATING_DIGITS.values()),
    "thanks",
    "opted_out",
    "goodbye",
)

log = structlog.get_logger()


class SessionStore(Protocol):
    """What the dialogue needs from the survey queue."""

    async def begin_session(self, survey_id: uuid.UUID, token: str, now: datetime) -> str | None:
        """Mark the survey in progress if `token` is its unspent one; its language, or None
        if it must not run."""

    async def record_rating(self, survey_id: uuid.UUID, rating: int, now: datetime) -> None: ...

    async def end_incomplete(self, survey_id: uuid.UUID, reason: str, now: datetime) -> bool:
        """Mark a survey still in progress incomplete; False if it had already ended."""

    async def opt_out(self, survey_id: uuid.UUID, now: datetime) -> None: ...


def parse_survey_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        return None


class Dialogue:
    """Greets, asks for 1/2/3 up to `max_prompts` times, stores the answer, hangs up."""

    def __init__(self, settings: SurveySettings, store: SessionStore, clock: Clock) -> None:
        self._settings = settings
        self._store = store
        self._clock = clock

    async def run(self, channel: AgiChannel, survey_id: uuid.UUID, language: str) -> None:
        """Run a survey already marked in progress; a hang-up leaves it incomplete."""
        bound = log.bind(survey_id=str(survey_id), uniqueid=channel.env.uniqueid[:80])
        bound.info("survey_session_started", language=language)
        try:
            reason = await self._dialogue(channel, survey_id, language)
        except AgiHangup:
            reason = "caller_hung_up"
        except TimeoutError:
            reason = "pbx_silent"
        if reason is not None and await self._store.end_incomplete(
            survey_id, reason, self._clock.now()
        ):
            bound.info("survey_incomplete", reason=reason)
        await hang_up(channel)

    async def _dialogue(
        self, channel: AgiChannel, survey_id: uuid.UUID, language: str
    ) -> str | None:
        """Run the questions; the reason the survey is incomplete, or None once it is done."""
        settings = self._settings
        await channel.command("ANSWER")
        await self._play(channel, language, "greeting")
        for _ in range(settings.max_prompts):
            reply = await channel.command(
                f"GET DATA {settings.sound(language, 'question')} {settings.digit_timeout_ms} 1"
            )
            if reply.result == "-1":
                raise AgiHangup("GET DATA")
            digit = reply.result if reply.ok else ""
            rating = RATING_DIGITS.get(digit)
            if rating is not None:
                await self._store.record_rating(survey_id, rating, self._clock.now())
                log.info("survey_rated", survey_id=str(survey_id), rating=rating)
                await channel.command(f"SET VARIABLE SURVEY_SCORE {rating}")
                await self._play(channel, language, f"confirm_{rating}")
                await self._play(channel, language, "thanks")
                return None
            if digit and digit == settings.opt_out_digit:
                await self._store.opt_out(survey_id, self._clock.now())
                log.info("survey_opted_out", survey_id=str(survey_id))
                await self._play(channel, language, "opted_out")
                return None
            await self._play(channel, language, "invalid" if digit else "no_input")
        await self._play(channel, language, "goodbye")
        return "no_valid_input"

    async def _play(self, channel: AgiChannel, language: str, name: str) -> None:
        await channel.command(f'STREAM FILE {self._settings.sound(language, name)} ""')


class SurveyScript:
    """The FastAGI handler for the `survey` script: agi_arg_1 carries the survey id and
    agi_arg_2 its one-time token (the SURVEY_TOKEN channel variable of the originate)."""

    def __init__(self, settings: SurveySettings, store: SessionStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._dialogue = Dialogue(settings, store, clock)

    async def __call__(self, channel: AgiChannel) -> None:
        args = channel.env.args
        survey_id = parse_survey_id(args[0]) if args else None
        if survey_id is None:
            log.warning("survey_bad_id", arg=(args[0] if args else "")[:80])
            await hang_up(channel)
            return
        token = args[1].strip() if len(args) > 1 else ""
        language = None
        if token:
            language = await self._store.begin_session(survey_id, token, self._clock.now())
        if language is None:
            log.warning("survey_not_runnable", survey_id=str(survey_id))
            await hang_up(channel)
            return
        await self._dialogue.run(channel, survey_id, language)


async def hang_up(channel: AgiChannel) -> None:
    """End the channel, ignoring a channel that is already gone."""
    with contextlib.suppress(AgiHangup, TimeoutError):
        await channel.command("HANGUP")

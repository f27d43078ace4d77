"""The committed prompts: every one the dialogue or the shipped dialplan plays exists in both
languages, in a format Asterisk plays (8 kHz mono 16-bit WAV), with its text kept beside it."""

from __future__ import annotations

import wave

import pytest

from ivr.config import PROMPTS_DIR
from ivr.prompts.regenerate import DIALPLAN_TEXTS, VOICES, load_texts
from ivr.results import RATING_LABELS
from ivr.script import PROMPT_NAMES

TEXTS = load_texts()
DIALPLAN = load_texts(DIALPLAN_TEXTS)


@pytest.mark.parametrize("language", ["th", "en"])
def test_every_prompt_has_text_and_audio(language: str) -> None:
    assert set(TEXTS[language]) == set(PROMPT_NAMES)
    assert language in VOICES
    files = {path.stem for path in (PROMPTS_DIR / language).glob("*.wav")}
    assert files == set(PROMPT_NAMES) | set(DIALPLAN[language])


def test_the_dialplan_prompts_are_the_recording_notice_in_both_languages() -> None:
    assert set(DIALPLAN["th"]) == set(DIALPLAN["en"]) == {"recording_notice"}


@pytest.mark.parametrize("language", ["th", "en"])
@pytest.mark.parametrize("name", [*PROMPT_NAMES, "recording_notice"])
def test_prompt_is_8khz_mono_16bit_and_not_empty(language: str, name: str) -> None:
    with wave.open(str(PROMPTS_DIR / language / f"{name}.wav")) as audio:
        assert audio.getframerate() == 8000
        assert audio.getnchannels() == 1
        assert audio.getsampwidth() == 2
        assert audio.getnframes() > 8000 * 0.5


@pytest.mark.parametrize("rating", [1, 2, 3])
@pytest.mark.parametrize("language", ["th", "en"])
def test_confirmation_says_the_rating_label(rating: int, language: str) -> None:
    label = RATING_LABELS[rating][language]
    assert TEXTS[language][f"confirm_{rating}"].rstrip(".").endswith(label)
    assert f"{rating}" in TEXTS[language]["question"]

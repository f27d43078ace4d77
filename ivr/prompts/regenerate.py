"""Regenerate the prompts from their texts with espeak-ng and sox: the survey's
(prompts.json) and those the shipped dialplan plays itself (dialplan.json: the recording
notice before the queue).

Asterisk plays 8 kHz mono 16-bit WAV; espeak-ng speaks Thai and English at 22 kHz, so sox
resamples. Run after editing the texts: `python -m ivr.prompts.regenerate` (needs Debian's
espeak-ng and sox: `apt-get install -y espeak-ng sox`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEXTS = HERE / "prompts.json"
DIALPLAN_TEXTS = HERE / "dialplan.json"
VOICES = {"th": "th", "en": "en-us"}
WORDS_PER_MINUTE = "150"
# Cut the silence espeak-ng leaves at both ends: shorter files, snappier dialogue.
TRIM = ("silence", "1", "0.05", "0.5%", "reverse", "silence", "1", "0.05", "0.5%", "reverse")


def load_texts(path: Path = TEXTS) -> dict[str, dict[str, str]]:
    texts: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return texts


def render(text: str, voice: str, target: Path) -> None:
    """Speak `text` into `target` as 8 kHz mono 16-bit WAV."""
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "raw.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", WORDS_PER_MINUTE, "-w", str(raw), text], check=True
        )
        subprocess.run(
            ["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(target), *TRIM], check=True
        )


def regenerate(
    out_dir: Path = HERE, sources: tuple[Path, ...] = (TEXTS, DIALPLAN_TEXTS)
) -> list[Path]:
    written = []
    for language, prompts in (pair for source in sources for pair in load_texts(source).items()):
        folder = out_dir / language
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in prompts.items():
            target = folder / f"{name}.wav"
            render(text, VOICES[language], target)
            written.append(target)
    return written


def main() -> int:
    for path in regenerate():
        print(path.relative_to(HERE))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The production Asterisk configuration says what the simulator and hotline assume."""

from __future__ import annotations

import re
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "asterisk"


def _read(name: str) -> str:
    return (DEPLOY / name).read_text()


def _section(text: str, name: str) -> str:
    match = re.search(rf"^\[{re.escape(name)}\][^\n]*\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    assert match, name
    return match.group(1)


def test_manager_has_timestamps_and_no_real_secret() -> None:
    text = _read("manager.conf")
    assert re.search(r"^timestampevents = yes$", _section(text, "general"), re.M)
    secrets = re.findall(r"^secret = (.*)$", text, re.M)
    assert secrets == ["@HOTLINE_AMI_SECRET@"]
    assert not re.search(r"^(read|write) = .*\b(command|all)\b", text, re.M)


def test_dialplan_routes_1169_to_the_queue_and_runs_the_survey_agi() -> None:
    text = _read("extensions.conf")
    inbound = _section(text, "from-trunk")
    assert re.search(r"exten => 1169,1,", inbound) and "Queue(hotline,c)" in inbound
    assert "survey-incall" in inbound and "${MEMBERINTERFACE}" in inbound
    survey = _section(text, "survey")
    assert "AGI(agi://${HOTLINE_AGI_HOST}:4573/survey,${SURVEY_ID})" in survey


def test_queue_matches_the_simulators_lab() -> None:
    hotline = _section(_read("queues.conf"), "hotline")
    for line in ("strategy = rrmemory", "timeout = 15", "retry = 2", "ringinuse = no"):
        assert line in hotline
    # Agents join when they log in to the panel: a static member could not be removed.
    assert re.search(r"^member\s*=>", hotline, re.M) is None


def test_every_file_is_documented_and_every_placeholder_has_a_value_source() -> None:
    readme = _read("README.md")
    files = sorted(p.name for p in DEPLOY.iterdir() if p.name != "README.md")
    assert files and all(f"`{name}`" in readme for name in files)
    render = _read("render-config.sh")
    for name in files:
        for var in re.findall(r"@([A-Z][A-Z0-9_]*)@", _read(name)):
            assert var in readme or f"{var}:=" in render, var

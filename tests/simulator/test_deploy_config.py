"""The production Asterisk configuration says what the simulator and hotline assume."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "asterisk"
COMPOSE = DEPLOY.parents[1] / "docker-compose.yml"

ENVIRONMENT = {
    "HOTLINE_AMI_SECRET": "s3cret",
    "HOTLINE_PUBLIC_IP": "203.0.113.7",
    "HOTLINE_TRUNK_HOST": "sip.carrier.example",
    "HOTLINE_TRUNK_USER": "trunkuser",
    "HOTLINE_TRUNK_SECRET": "trunkpass",
    "HOTLINE_AGENT101_SECRET": "a1",
    "HOTLINE_AGENT102_SECRET": "a2",
    "HOTLINE_AGENT103_SECRET": "a3",
    "HOTLINE_SUPER201_SECRET": "s1",
    "HOTLINE_AGI_HOST": "hotline-agi.internal",
    "HOTLINE_AGI_PORT": "4999",
    "HOTLINE_AMI_PORT": "5139",
    "HOTLINE_AMI_PERMIT": "172.30.0.10/255.255.255.255",
    "HOTLINE_QUEUE_LOG_DB_HOST": "db.internal",
    "HOTLINE_QUEUE_LOG_DB_PORT": "6432",
    "HOTLINE_QUEUE_LOG_DB_NAME": "callcentre",
    "HOTLINE_QUEUE_LOG_DB_PASSWORD": "qlogpass",
}


def _read(name: str) -> str:
    return (DEPLOY / name).read_text()


def _section(text: str, name: str) -> str:
    match = re.search(rf"^\[{re.escape(name)}\][^\n]*\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    assert match, name
    return match.group(1)


def _render(target: Path, **changes: str | None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], **ENVIRONMENT}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        ["sh", str(DEPLOY / "render-config.sh"), str(target)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("asterisk")
    result = _render(target)
    assert result.returncode == 0, result.stderr
    return target


def test_rendering_leaves_no_placeholder(rendered: Path) -> None:
    files = sorted(p.name for p in rendered.iterdir())
    assert files == sorted(p.name for p in DEPLOY.glob("*.conf"))
    for path in rendered.iterdir():
        assert not re.search(r"@[A-Z][A-Z0-9_]*@", path.read_text()), path.name


def test_every_host_and_port_comes_from_the_environment(rendered: Path) -> None:
    dialplan = (rendered / "extensions.conf").read_text()
    assert re.search(r"^HOTLINE_AGI_HOST = hotline-agi\.internal$", dialplan, re.M)
    assert re.search(r"^HOTLINE_AGI_PORT = 4999$", dialplan, re.M)
    agi_urls = re.findall(r"AGI\(agi://([^/]+)/", dialplan)
    assert agi_urls and set(agi_urls) == {"${HOTLINE_AGI_HOST}:${HOTLINE_AGI_PORT}"}
    assert not re.search(r"\b4573\b|127\.0\.0\.1", dialplan)
    manager = (rendered / "manager.conf").read_text()
    assert re.search(r"^port = 5139$", _section(manager, "general"), re.M)
    account = _section(manager, "hotline")
    assert re.findall(r"^(deny|permit) = (.*)$", account, re.M) == [
        ("deny", "0.0.0.0/0.0.0.0"),
        ("permit", "172.30.0.10/255.255.255.255"),
    ]


def test_defaults_fill_the_ports_and_a_missing_permit_stops_the_start(tmp_path: Path) -> None:
    defaults = _render(tmp_path / "ok", HOTLINE_AGI_PORT=None, HOTLINE_AMI_PORT=None)
    assert defaults.returncode == 0, defaults.stderr
    assert "HOTLINE_AGI_PORT = 4573" in (tmp_path / "ok" / "extensions.conf").read_text()
    refused = _render(tmp_path / "refused", HOTLINE_AMI_PERMIT=None)
    assert refused.returncode != 0
    assert "HOTLINE_AMI_PERMIT is not set" in refused.stderr


def test_queue_log_goes_to_postgresql_in_its_own_schema(rendered: Path) -> None:
    pgsql = _section((rendered / "res_pgsql.conf").read_text(), "general")
    for line in (
        "dbhost = db.internal",
        "dbport = 6432",
        "dbname = callcentre",
        "dbuser = asterisk_queue_log",
        "dbpass = qlogpass",
        "requirements = warn",
    ):
        assert re.search(rf"^{re.escape(line)}$", pgsql, re.M), line
    assert (rendered / "res_pgsql.conf").stat().st_mode & 0o777 == 0o640
    settings = _section((rendered / "extconfig.conf").read_text(), "settings")
    assert re.findall(r"^(\w+) => (.*)$", settings, re.M) == [
        ("queue_log", "pgsql,callcentre,asterisk.queue_log")
    ]
    general = _section((rendered / "logger.conf").read_text(), "general")
    for line in (
        "queue_log = yes",
        "queue_log_name = queue_log",
        "queue_log_to_file = no",
        "queue_adaptive_realtime = yes",
        "queue_log_realtime_use_gmt = yes",
    ):
        assert re.search(rf"^{line}$", general, re.M), line
    assert "require = res_config_pgsql.so" in (rendered / "modules.conf").read_text()


def test_queue_log_defaults_and_a_missing_password_stops_the_start(tmp_path: Path) -> None:
    defaults = _render(
        tmp_path / "ok",
        HOTLINE_QUEUE_LOG_DB_HOST=None,
        HOTLINE_QUEUE_LOG_DB_PORT=None,
        HOTLINE_QUEUE_LOG_DB_NAME=None,
    )
    assert defaults.returncode == 0, defaults.stderr
    pgsql = (tmp_path / "ok" / "res_pgsql.conf").read_text()
    assert "dbhost = postgres" in pgsql and "dbport = 5432" in pgsql
    assert "dbname = hotline" in pgsql
    refused = _render(tmp_path / "refused", HOTLINE_QUEUE_LOG_DB_PASSWORD=None)
    assert refused.returncode != 0
    assert "HOTLINE_QUEUE_LOG_DB_PASSWORD is not set" in refused.stderr


def test_no_static_member_remains(rendered: Path) -> None:
    queues = (rendered / "queues.conf").read_text()
    assert not re.search(r"^\s*member\s*=>", queues, re.M)
    hotline = _section(queues, "hotline")
    for line in ("strategy = rrmemory", "timeout = 15", "retry = 2", "ringinuse = no"):
        assert line in hotline
    assert "context = hotline-exit" in hotline


def test_manager_reads_what_the_translator_needs_and_not_the_dialplan() -> None:
    text = _read("manager.conf")
    general = _section(text, "general")
    assert re.search(r"^timestampevents = yes$", general, re.M)
    assert re.search(r"^channelvars = HOTLINE_CALLBACK$", general, re.M)
    secrets = re.findall(r"^secret = (.*)$", text, re.M)
    assert secrets == ["@HOTLINE_AMI_SECRET@"]
    read = re.findall(r"^read = (.*)$", text, re.M)
    assert [set(r.split(",")) for r in read] == [{"system", "call", "agent", "user", "dtmf", "cdr"}]
    assert not re.search(r"^(read|write) = .*\b(command|all|dialplan)\b", text, re.M)


def test_callers_reach_the_queue_with_a_timeout_transfers_and_a_callback() -> None:
    text = _read("extensions.conf")
    inbound = _section(text, "from-trunk")
    assert re.search(r"exten => 1169,1,", inbound)
    assert "Queue(hotline,ct,,,${HOTLINE_QUEUE_TIMEOUT})" in inbound
    assert "UserEvent(QueueExit,Queue: hotline,Status: ${QUEUESTATUS},Uniqueid: ${UNIQUEID})" in (
        inbound
    )
    assert '"${QUEUESTATUS}" = "TIMEOUT"]?hotline-overflow,s,1' in inbound
    assert "survey-incall" in inbound and "${MEMBERINTERFACE}" in inbound
    assert "Status: EXITWITHKEY,Digit: ${EXTEN}" in _section(text, "hotline-exit")
    overflow = _section(text, "hotline-overflow")
    assert (
        "UserEvent(CallbackRequest,Queue: hotline,Number: ${CALLERID(num)},Uniqueid: ${UNIQUEID})"
        in overflow
    )
    agents = _section(text, "from-agents")
    assert "exten => _210X,1," in agents and "Dial(PJSIP/agent1${EXTEN:2},30)" in agents
    assert "exten => 1169,1,Goto(from-trunk,1169,1)" in agents
    assert 'Set(CALLERID(all)="Hotline" <1169>)' in agents
    assert "Dial(PJSIP/${EXTEN}@trunk,30)" in agents
    survey = _section(text, "survey")
    assert "/survey,${SURVEY_ID},${SURVEY_TOKEN})" in survey
    keep = _section(text, "hotline-keep-caller")
    assert '"${CHANNEL(endpoint)}" = "trunk"]?from-trunk,1169,1' in keep


def test_features_allow_attended_transfer_without_a_missing_prompt() -> None:
    features = _read("features.conf")
    assert re.search(r"^atxfer => \*2$", _section(features, "featuremap"), re.M)
    assert re.search(r"^transferannouncesound =\s*$", _section(features, "general"), re.M)


def test_compose_passes_the_rendered_settings() -> None:
    compose = COMPOSE.read_text()
    for name in ("HOTLINE_AGI_PORT", "HOTLINE_AMI_PORT", "HOTLINE_AMI_PERMIT"):
        assert f"{name}:" in compose, name
    asterisk = yaml.safe_load(compose)["services"]["asterisk"]
    assert {
        name: value
        for name, value in asterisk["environment"].items()
        if name.startswith("HOTLINE_QUEUE_LOG_DB_")
    } == {
        "HOTLINE_QUEUE_LOG_DB_HOST": "postgres",
        "HOTLINE_QUEUE_LOG_DB_PORT": 5432,
        "HOTLINE_QUEUE_LOG_DB_NAME": "hotline",
        "HOTLINE_QUEUE_LOG_DB_USER": "asterisk_queue_log",
        "HOTLINE_QUEUE_LOG_DB_PASSWORD": "${HOTLINE_QUEUE_LOG_DB_PASSWORD:?set"
        " HOTLINE_QUEUE_LOG_DB_PASSWORD in .env}",
    }
    assert "asterisk-queue-log-role.sh:/docker-entrypoint-initdb.d/" in compose
    assert "ipv4_address: ${HOTLINE_ADDRESS:-172.30.0.10}" in compose


def test_every_file_is_documented_and_every_placeholder_has_a_value_source() -> None:
    readme = _read("README.md")
    files = sorted(p.name for p in DEPLOY.iterdir() if p.name != "README.md")
    assert files and all(f"`{name}`" in readme for name in files)
    render = _read("render-config.sh")
    for name in files:
        for var in re.findall(r"@([A-Z][A-Z0-9_]*)@", _read(name)):
            assert var in readme or f"{var}:=" in render, var


def test_callers_hear_the_recording_notice_before_the_queue_when_recording() -> None:
    """PDPA: told first, in Thai then English; its playing is reported (class user)."""
    inbound = _section(_read("extensions.conf"), "from-trunk")
    notice = inbound.index("Playback(hotline/th/recording_notice&hotline/en/recording_notice)")
    event = inbound.index(
        "UserEvent(RecordingNotice,Queue: hotline,Languages: th+en,Uniqueid: ${UNIQUEID})"
    )
    assert inbound.index("Answer()") < notice < event < inbound.index("Queue(hotline")
    assert '"${HOTLINE_RECORDING}" != "true"]?queue' in inbound
    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    assert "recordings:/var/spool/asterisk/monitor" in compose["asterisk"]["volumes"]
    assert "recordings:/var/lib/hotline/recordings" in compose["hotline"]["volumes"]

"""The deployment files: the compose file parses, mounts what exists, and every secret it
and the Asterisk configuration need is listed in deploy/env.example."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def env_example_names() -> set[str]:
    text = (ROOT / "deploy" / "env.example").read_text()
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.M))


def test_the_compose_file_has_the_database_the_pbx_and_the_service() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "asterisk", "hotline"}
    assert services["asterisk"]["image"].startswith("andrius/asterisk:22")
    assert services["hotline"]["build"] == "."
    assert (ROOT / "Dockerfile").is_file()


def test_every_file_the_compose_file_mounts_exists() -> None:
    mounts = [
        volume.split(":")[0]
        for service in compose()["services"].values()
        for volume in service.get("volumes", [])
        if volume.startswith(".")
    ]
    assert mounts, "the PBX configuration should be mounted from the repository"
    for source in mounts:
        assert (ROOT / source).exists(), f"{source} is mounted but missing"
    asterisk = compose()["services"]["asterisk"]
    assert "/hotline-asterisk/render-config.sh" in " ".join(asterisk["entrypoint"])
    assert (ROOT / "deploy" / "asterisk" / "render-config.sh").is_file()


def test_every_variable_the_deployment_needs_is_in_the_example_env_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    needed = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    for conf in (ROOT / "deploy" / "asterisk").glob("*.conf"):
        needed |= set(re.findall(r"@([A-Z][A-Z0-9_]*)@", conf.read_text()))
    provided_by_compose = {"HOTLINE_AGI_HOST", "HOTLINE_PBX_NAME", "HOTLINE_AMI_PERMIT"} | {
        f"HOTLINE_QUEUE_LOG_DB_{part}" for part in ("HOST", "PORT", "NAME", "USER")
    }
    missing = needed - env_example_names() - provided_by_compose
    assert not missing, f"not in deploy/env.example: {sorted(missing)}"


def test_the_ami_configuration_stamps_every_event_and_holds_no_secret() -> None:
    manager = (ROOT / "deploy" / "asterisk" / "manager.conf").read_text()
    assert re.search(r"^timestampevents\s*=\s*yes", manager, flags=re.M)
    assert re.search(r"^secret\s*=\s*@HOTLINE_AMI_SECRET@", manager, flags=re.M)
    queues = (ROOT / "deploy" / "asterisk" / "queues.conf").read_text()
    assert "[hotline]" in queues
    extensions = (ROOT / "deploy" / "asterisk" / "extensions.conf").read_text()
    assert "exten => 1169" in extensions
    assert "[survey]" in extensions

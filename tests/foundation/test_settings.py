"""A wrong setting stops the service with one line naming it, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import SettingsError, load_settings
from tests.foundation.processes import clean_environment


def run_hotline(
    *args: str, env: dict[str, str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline.cli", *args],
        env=clean_environment(**env),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"HOTLINE_WEB_PORT": "70000"}, "web_port (HOTLINE_WEB_PORT)"),
        ({"HOTLINE_AGI_PORT": "-1"}, "agi_port (HOTLINE_AGI_PORT)"),
        ({"HOTLINE_PBX": '[{"name": "main", "port": 5038}]'}, "pbx.0.host (HOTLINE_PBX)"),
        ({"HOTLINE_PBX": "not json"}, "HOTLINE_PBX"),
        ({"HOTLINE_TIMEZONE": "Asia/Atlantis"}, "timezone (HOTLINE_TIMEZONE)"),
        ({"DATABASE_URL": "mysql://db/x"}, "database_url"),
        (
            {"HOTLINE_DATABASE_URL": "postgresql://hotline@127.0.0.1:9/hotline"},
            "database_url (HOTLINE_DATABASE_URL): cannot connect",
        ),
    ],
)
def test_a_bad_setting_stops_serve_with_one_line_naming_it(
    env: dict[str, str], named: str, tmp_path: Path
) -> None:
    result = run_hotline("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hotline: ")
    assert named in lines[0]
    assert "Traceback" not in result.stderr


def test_the_toml_file_is_read_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text(
        'web_port = 9000\nagi_port = 4600\n[[pbx]]\nname = "main"\nhost = "10.0.0.5"\n'
        'username = "hotline"\nsecret = "s3cret"\n[standards]\ngreeting_max_s = 20\n'
    )
    monkeypatch.setenv("HOTLINE_WEB_PORT", "9100")
    monkeypatch.delenv("HOTLINE_AGI_PORT", raising=False)
    settings = load_settings(config)
    assert settings.web_port == 9100
    assert settings.agi_port == 4600
    assert settings.pbx[0].host == "10.0.0.5"
    assert settings.standards.greeting_max_s == 20
    assert "s3cret" not in repr(settings)


def test_an_unknown_key_in_the_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text("web_prot = 9000\n")
    with pytest.raises(SettingsError, match="unknown setting web_prot"):
        load_settings(config)


def test_two_pbxes_with_one_name_are_refused() -> None:
    pbx = {"host": "h", "username": "u", "secret": "s"}
    with pytest.raises(SettingsError, match="PBX names must be unique"):
        load_settings(pbx=[{"name": "a", **pbx}, {"name": "a", **pbx}])


@pytest.mark.parametrize(
    ("tls", "named"),
    [
        ({"tls": True, "tls_ca_file": "missing.pem"}, "pbx.0.tls_ca_file"),
        ({"tls": True, "tls_ca_file": "notes.txt"}, "not a PEM bundle of CA certificates"),
        ({"tls_server_name": "pbx.example"}, "used only with tls = true"),
        ({"tls": True, "tls_server_name": "pbx example"}, "pbx.0.tls_server_name"),
    ],
)
def test_a_tls_setting_that_cannot_work_is_refused_by_name(
    tmp_path: Path, tls: dict[str, str], named: str
) -> None:
    (tmp_path / "notes.txt").write_text("not a certificate\n")
    paths = {k: tmp_path / v if k == "tls_ca_file" else v for k, v in tls.items()}
    pbx = {"name": "a", "host": "10.0.0.5", "username": "u", "secret": "s", **paths}
    with pytest.raises(SettingsError, match=named):
        load_settings(pbx=[pbx])


def test_the_defaults_are_the_service_standards() -> None:
    standards = load_settings().standards
    assert (standards.greeting_max_s, standards.closing_max_s) == (30, 30)
    assert (standards.inquiry_min_s, standards.inquiry_max_s) == (300, 1200)
    assert standards.satisfaction_target == 0.85
    assert (standards.sl_threshold_s, standards.short_abandon_s) == (20, 5)
    assert load_settings().timezone == "Asia/Bangkok"


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    from config.settings import Settings

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in Settings.model_fields if f"`{name}`" not in table]
    assert not missing, f"settings missing from the README: {missing}"


@pytest.mark.parametrize(
    ("password", "why"),
    [("Password1234\n", "too common"), ("somchai-the-agent\n", "contains the username")],
)
def test_create_user_refuses_a_weak_password(tmp_path: Path, password: str, why: str) -> None:
    done = run_hotline(
        "create-user", "somchai", "--role", "agent", "--password-stdin",
        env={}, cwd=tmp_path, stdin=password,
    )  # fmt: skip
    assert done.returncode == 2
    assert why in done.stderr and "Traceback" not in done.stderr

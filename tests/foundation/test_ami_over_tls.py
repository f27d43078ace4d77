"""The whole service following a PBX over AMI over TLS, as an operator sets it up: calls are
stored as over plain AMI, and a PBX whose certificate comes from another CA is refused,
logged and shown down on /healthz with the reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from config.settings import load_settings
from hotline.app import create_app
from pbxsim import PbxSimulator
from tests.foundation.conftest import MONITOR, MONITORING_TOKEN
from tests.tls import PBX_HOST, Authority, make_authority
from tests.waiting import until_true
from web.keys import db_key


@pytest.fixture
def service(
    tls_pbx: PbxSimulator, fresh_db_url: str, tmp_path: Path
) -> Callable[[Path], TestClient]:
    """The service following `tls_pbx` over TLS, trusting the CA whose certificate is given."""

    def build(ca_file: Path) -> TestClient:
        host, port = tls_pbx.address
        pbx = {"name": "pbx1", "host": host, "port": port, "username": "hotline"}
        tls = {"tls": True, "tls_ca_file": ca_file, "tls_server_name": PBX_HOST}
        settings = load_settings(
            database_url=fresh_db_url,
            data_dir=tmp_path,
            pbx=[{**pbx, **tls, "secret": "hotline"}],
            security={"monitoring_token": MONITORING_TOKEN},
        )
        return TestClient(TestServer(create_app(settings)))

    return build


async def _pbx_health(client: TestClient) -> dict[str, Any] | None:
    """pbx1's entry on /healthz once its link has tried, else None."""
    body = await (await client.get("/healthz", headers=MONITOR)).json()
    (pbx,) = body["pbx"]
    return None if pbx["why"] == "not started" else pbx


async def test_a_call_is_stored_from_a_pbx_followed_over_tls(
    tls_pbx: PbxSimulator, service: Callable[[Path], TestClient], authority: Authority
) -> None:
    async with service(authority.certificate) as client:
        assert client.app is not None
        pbx = await until_true(lambda: _pbx_health(client), within=10.0)
        assert (pbx["up"], pbx["why"]) == (True, "logged in")
        call = await tls_pbx.place_call("hotline", "0812345678")
        await tls_pbx.answer("PJSIP/agent101")
        await tls_pbx.hangup(call)
        pool = client.app[db_key].pool

        async def stored() -> Any:
            return await pool.fetchrow(
                "SELECT caller_number, agent_interface FROM calls WHERE ended_at IS NOT NULL"
            )

        row = await until_true(stored, within=10.0)
    assert dict(row) == {"caller_number": "0812345678", "agent_interface": "PJSIP/agent101"}


async def test_a_certificate_from_another_ca_is_refused_logged_and_shown_on_healthz(
    tls_pbx: PbxSimulator, service: Callable[[Path], TestClient], tmp_path: Path
) -> None:
    stranger = make_authority(tmp_path / "other-ca", "Some Other CA")
    with capture_logs() as logs:
        async with service(stranger.certificate) as client:
            pbx = await until_true(lambda: _pbx_health(client), within=10.0)
            status = (await client.get("/healthz", headers=MONITOR)).status
    why = "TLS certificate refused: unable to get local issuer certificate"
    assert (status, pbx["up"], pbx["why"]) == (503, False, why)
    refused = [entry for entry in logs if entry["event"] == "ami_tls_refused"]
    assert refused and all(
        (entry["log_level"], entry["why"], entry["pbx"]) == ("error", why, "pbx1")
        for entry in refused
    )
    assert not [r for r in tls_pbx.server.actions if r.message.get("Action") == "Login"]

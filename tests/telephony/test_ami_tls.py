"""The AMI link over real TLS to the PBX simulator: it trusts only the configured CA and
only a certificate that names the PBX, and says which of the two failed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from pbxsim import PbxSimulator
from telephony.ami.link import AmiLink
from telephony.config import PbxConfig
from tests.telephony.fake_ami import Recorder
from tests.tls import PBX_HOST, Authority
from tests.waiting import until


@pytest.fixture
async def plain_pbx() -> AsyncIterator[PbxSimulator]:
    async with PbxSimulator.lab(speed=50.0) as sim:
        yield sim


def _tls_link(sim: PbxSimulator, ca_file: Path, server_name: str | None) -> AmiLink:
    host, port = sim.address
    config = PbxConfig(
        "pbx1",
        host,
        port,
        "hotline",
        "hotline",
        tls=True,
        tls_ca_file=ca_file,
        tls_server_name=server_name,
    )
    recorder = Recorder()
    return AmiLink(config, recorder.on_message, recorder.on_connected)


async def test_the_link_logs_in_over_tls_to_the_name_on_the_certificate(
    tls_pbx: PbxSimulator, authority: Authority
) -> None:
    link = _tls_link(tls_pbx, authority.certificate, PBX_HOST)
    await link.start()
    try:
        await until(lambda: link.up, within=5.0)
        (session,) = tls_pbx.server.sessions
        assert session.username == "hotline"
        assert session.transport is not None
        assert session.transport.get_extra_info("ssl_object").version() in ("TLSv1.2", "TLSv1.3")
    finally:
        await link.stop()


@pytest.mark.parametrize(
    ("server_name", "why"),
    [
        ("other.test", "Hostname mismatch, certificate is not valid for 'other.test'"),
        (None, "IP address mismatch, certificate is not valid for '127.0.0.1'"),
    ],
)
async def test_a_certificate_that_does_not_name_the_pbx_is_refused(
    tls_pbx: PbxSimulator, authority: Authority, server_name: str | None, why: str
) -> None:
    link = _tls_link(tls_pbx, authority.certificate, server_name)
    with capture_logs() as logs:
        await link.start()
        try:
            await until(lambda: link.health().why != "not started", within=5.0)
            assert link.health().why == f"TLS certificate refused: {why}."
        finally:
            await link.stop()
    refused = [entry for entry in logs if entry["event"] == "ami_tls_refused"]
    assert refused and refused[0]["server_name"] == (server_name or "127.0.0.1")
    assert not [r for r in tls_pbx.server.actions if r.message.get("Action") == "Login"]


async def test_a_pbx_answering_without_tls_is_named_as_such(
    plain_pbx: PbxSimulator, authority: Authority
) -> None:
    link = _tls_link(plain_pbx, authority.certificate, PBX_HOST)
    await link.start()
    try:
        await until(lambda: link.health().why != "not started", within=5.0)
        assert not link.up
        assert link.health().why == (
            "TLS handshake failed: the PBX answered without TLS (its plain AMI port?)"
        )
    finally:
        await link.stop()
    assert not plain_pbx.server.actions, "nothing, not even the Login, was sent in clear"

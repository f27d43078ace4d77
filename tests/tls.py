"""Throwaway certificate authorities for AMI over TLS tests, made with the openssl command
line (as an operator would make a private CA), never with the code under test, and the
fixtures built on them (a plugin of tests/conftest.py)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pbxsim import PbxSimulator

# The name on the TLS simulator's certificate; it listens on 127.0.0.1, which it does not name.
PBX_HOST = "pbx.test"

_CONFIG = """\
[req]
distinguished_name = subject
prompt = no
[subject]
CN = unused
[authority]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""
_SERVER_EXTENSIONS = """\
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:{host}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""
_NEW_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=30)


@dataclass(frozen=True)
class Authority:
    """A CA in its own folder: `certificate` is what hotline's `tls_ca_file` points to."""

    folder: Path

    @property
    def certificate(self) -> Path:
        return self.folder / "ca.pem"

    def server_context(self, host: str) -> ssl.SSLContext:
        """What a PBX listens with: a certificate for `host` (a DNS name) from this CA."""
        key, request, cert = (self.folder / f"{host}.{kind}" for kind in ("key", "csr", "pem"))
        extensions = self.folder / f"{host}.ext"
        extensions.write_text(_SERVER_EXTENSIONS.format(host=host))
        _openssl(
            "req",
            "-new",
            "-config",
            self.folder / "ca.cnf",
            *_NEW_KEY,
            "-keyout",
            key,
            "-out",
            request,
            "-subj",
            f"/CN={host}",
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            request,
            "-CA",
            self.certificate,
            "-CAkey",
            self.folder / "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            extensions,
            "-out",
            cert,
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        return context


def make_authority(folder: Path, name: str) -> Authority:
    """A new CA called `name`; skips the test when openssl is not installed."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line is needed to make test certificates")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.cnf").write_text(_CONFIG)
    _openssl(
        "req",
        "-x509",
        "-config",
        folder / "ca.cnf",
        "-extensions",
        "authority",
        *_NEW_KEY,
        "-keyout",
        folder / "ca.key",
        "-out",
        folder / "ca.pem",
        "-days",
        "2",
        "-subj",
        f"/CN={name}",
    )
    return Authority(folder)


@pytest.fixture(scope="session")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    """The private CA that the TLS simulator's certificate comes from."""
    return make_authority(tmp_path_factory.mktemp("ca"), "Hotline Test CA")


@pytest.fixture
async def tls_pbx(authority: Authority) -> AsyncIterator[PbxSimulator]:
    """The lab simulator speaking AMI over TLS only, as `PBX_HOST`."""
    async with PbxSimulator.lab(speed=50.0, ami_tls=authority.server_context(PBX_HOST)) as sim:
        yield sim

"""Which addresses may open a FastAGI session: the PBXes only.

A FastAGI session can begin a survey, rate it and opt a number out, so the server admits a
connection only from the configured PBX hosts (resolved once at start; a CIDR network is
allowed too, for a PBX cluster).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import structlog

log = structlog.get_logger()

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class PeerAllowlist:
    networks: tuple[IpNetwork, ...]

    @classmethod
    async def resolve(cls, entries: Iterable[str]) -> PeerAllowlist:
        """From addresses, networks or host names; a name that does not resolve is logged
        and admits nobody."""
        loop = asyncio.get_running_loop()
        networks: list[IpNetwork] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            try:
                infos = await loop.getaddrinfo(entry, None, type=socket.SOCK_STREAM)
            except OSError as exc:
                log.error("fastagi_peer_unresolved", host=entry, error=str(exc))
                continue
            networks += [ipaddress.ip_network(str(info[4][0])) for info in infos]
        return cls(tuple(dict.fromkeys(networks)))

    def admits(self, peer: object) -> bool:
        """Whether a socket's `peername` is one of ours (an IPv4-mapped IPv6 as its IPv4)."""
        if not isinstance(peer, tuple) or not peer:
            return False
        try:
            address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

"""Who is on the other end: the client's address and whether it came over HTTPS.

Behind a reverse proxy every request comes from the proxy, so its X-Forwarded-For and
X-Forwarded-Proto headers are believed, but only when the request really comes from one of
the configured `security.trusted_proxies`; from anyone else they are ignored, or a client
could claim any address (and escape login throttling) by sending the header itself.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web

from web.keys import settings_key


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(request: web.Request, text: str | None) -> bool:
    address = _address(text or "")
    if address is None:
        return False
    networks = request.app[settings_key].security.trusted_proxy_networks
    return any(address in network for network in networks)


def _from_trusted_proxy(request: web.Request) -> bool:
    return _trusted(request, request.remote)


def client_address(request: web.Request) -> str:
    """The first address, from the right of X-Forwarded-For, that is not a trusted proxy."""
    remote = request.remote or ""
    if not _from_trusted_proxy(request):
        return remote
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _trusted(request, hop):
            return hop if _address(hop) is not None else remote
    return remote


def is_https(request: web.Request) -> bool:
    """TLS to this process, or to a trusted proxy that says so."""
    if request.secure:
        return True
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https" and _from_trusted_proxy(request)

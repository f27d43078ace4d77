"""Is a request from one of this site's own pages?

Browsers send cookies with a WebSocket handshake whatever page opened it and CSRF tokens do
not apply to it, so another site could open an agent's panel socket with the agent's
session; the Origin header every browser sends on that handshake is what tells them apart.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web


def from_own_page(request: web.Request) -> bool:
    """True when the Origin names this host (a client with no Origin is not a browser page)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.host.lower()

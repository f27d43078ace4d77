"""Headers that tell the browser to trust only this site's own code and to keep pages
with callers' personal data out of caches, other sites' frames and referrers.

Set on every response as it is prepared (pages, JSON, exports, static files, errors and
the WebSocket handshake alike), so no route can forget them.
"""

from __future__ import annotations

from aiohttp import web

from web.auth import serves_https

# Scripts and styles only from /static: a caller's name that slipped past escaping still
# could not run. 'self' covers the panel's WebSocket on the same origin.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
ALWAYS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Without a version, a scan learns nothing about which aiohttp to attack.
    "Server": "hotline",
}
HSTS = "max-age=31536000"


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response gets the headers; everything but the static
    files (no personal data, and worth caching) is never stored by the browser or a proxy."""
    response.headers.update(ALWAYS)
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
    if serves_https(request):
        response.headers["Strict-Transport-Security"] = HSTS

"""Reading what the browser sends without the NUL characters PostgreSQL refuses: posted
text fields are cleaned, and an address with one is refused at the door."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping

from aiohttp import web


def clean(value: str) -> str:
    return value.replace("\x00", "")


def text_fields(form: Mapping[str, object], names: Iterable[str]) -> dict[str, str]:
    """The named text fields of a posted form (missing ones empty, files ignored)."""
    return {name: clean(value) for name in names if isinstance(value := form.get(name, ""), str)}


async def posted_text(request: web.Request, names: Iterable[str]) -> dict[str, str]:
    return text_fields(await request.post(), names)


@web.middleware
async def refuse_nul_in_address(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A NUL in the path or a query parameter is a bad request (400), not a database error
    (500) in whichever handler first passes it to PostgreSQL."""
    if "\x00" in request.path or any("\x00" in k + v for k, v in request.query.items()):
        raise web.HTTPBadRequest(text="the address contains a NUL character")
    return await handler(request)

"""Reading posted forms: every text field without the NUL characters PostgreSQL refuses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aiohttp import web


def clean(value: str) -> str:
    return value.replace("\x00", "")


def text_fields(form: Mapping[str, object], names: Iterable[str]) -> dict[str, str]:
    """The named text fields of a posted form (missing ones empty, files ignored)."""
    return {name: clean(value) for name in names if isinstance(value := form.get(name, ""), str)}


async def posted_text(request: web.Request, names: Iterable[str]) -> dict[str, str]:
    return text_fields(await request.post(), names)

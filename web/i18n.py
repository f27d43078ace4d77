"""Thai and English for every page: one catalog merged from web/locales/*.json.

Each feature keeps its own file of `{key: {"th": ..., "en": ...}}` so parallel work never
edits the same catalog; a key missing in one language falls back to the other, then to the
key itself, so a gap shows as a readable key rather than an error page.
"""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from web.identity import current_user

LANGUAGES = ("th", "en")
LOCALES_DIR = Path(__file__).with_name("locales")
LANG_COOKIE = "hotline_lang"


class Catalog:
    def __init__(self, entries: dict[str, dict[str, str]]) -> None:
        self._entries = entries

    @classmethod
    def load(cls, folder: Path = LOCALES_DIR) -> Catalog:
        entries: dict[str, dict[str, str]] = {}
        for path in sorted(folder.glob("*.json")):
            for key, texts in json.loads(path.read_text(encoding="utf-8")).items():
                if key in entries:
                    raise ValueError(f"translation key {key!r} is defined twice ({path.name})")
                entries[key] = texts
        return cls(entries)

    def text(self, key: str, lang: str) -> str:
        texts = self._entries.get(key)
        if not texts:
            return key
        return texts.get(lang) or next(iter(texts.values()), key)


def request_language(request: web.Request, default: str) -> str:
    """The language chosen in this browser, else the user's, else the site default."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    user = current_user(request)
    if user is not None and user.language in LANGUAGES:
        return str(user.language)
    return default

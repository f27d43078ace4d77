"""Mail texts from jinja2 templates in Thai and English: `<folder>/<name>/<lang>.subject`,
`<lang>.txt` and, when there is one, `<lang>.html` (autoescaped: caller-supplied text in a
mail is as untrusted as on a page). Each feature keeps its templates beside its code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

LANGUAGES = ("th", "en")
MAIL_TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str | None


class MailTemplates:
    def __init__(self, folder: Path = MAIL_TEMPLATES) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folder),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(self, name: str, lang: str, context: dict[str, Any]) -> RenderedMail:
        """The mail `name` in `lang` (Thai when the language is not one of ours)."""
        lang = lang if lang in LANGUAGES else LANGUAGES[0]
        subject = self._env.get_template(f"{name}/{lang}.subject").render(context)
        text = self._env.get_template(f"{name}/{lang}.txt").render(context)
        try:
            html: str | None = self._env.get_template(f"{name}/{lang}.html").render(context)
        except jinja2.TemplateNotFound:
            html = None
        return RenderedMail(" ".join(subject.split()), text, html)

"""An article as editors write it and agents read it: a title and a body in Thai and in
English (either may be left for later, one title is needed), tags, the unit that owns it
and the date its content must be checked again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime

from knowledge.errors import InvalidArticle
from knowledge.rich_text import sanitise

MAX_TITLE = 200
MAX_BODY = 200_000
MAX_TAGS = 20
LANGS = ("th", "en")


def in_language(lang: str, th: str, en: str) -> str:
    """The text in `lang`, else in the other language (an article may be Thai only)."""
    return (th if lang == "th" else en) or th or en


@dataclass(frozen=True)
class ArticleContent:
    """What one save of an article holds; bodies are already sanitised."""

    title_th: str
    title_en: str
    body_th: str
    body_en: str
    tags: tuple[str, ...]
    unit_id: int | None
    review_on: date | None
    published: bool

    @classmethod
    def parse(cls, fields: Mapping[str, str]) -> ArticleContent:
        """From the editor's form: text trimmed, bodies sanitised, tags split on commas."""
        titles = {lang: fields.get(f"title_{lang}", "").strip() for lang in LANGS}
        if not any(titles.values()):
            raise InvalidArticle("title_needed")
        if any(len(title) > MAX_TITLE for title in titles.values()):
            raise InvalidArticle("title_too_long")
        bodies = {lang: sanitise(fields.get(f"body_{lang}", "")).strip() for lang in LANGS}
        if any(len(body) > MAX_BODY for body in bodies.values()):
            raise InvalidArticle("body_too_long")
        tags = tuple(
            dict.fromkeys(t.strip().lower() for t in fields.get("tags", "").split(",") if t.strip())
        )
        if len(tags) > MAX_TAGS or any(len(tag) > 40 for tag in tags):
            raise InvalidArticle("too_many_tags")
        return cls(
            title_th=titles["th"],
            title_en=titles["en"],
            body_th=bodies["th"],
            body_en=bodies["en"],
            tags=tags,
            unit_id=_optional_int(fields.get("unit_id", "")),
            review_on=_optional_date(fields.get("review_on", "")),
            published=fields.get("published", "") == "on",
        )

    def as_json(self) -> dict[str, object]:
        values = asdict(self)
        values["tags"] = list(self.tags)
        values["review_on"] = self.review_on.isoformat() if self.review_on else None
        return values


def _optional_int(value: str) -> int | None:
    if not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidArticle("unit_unknown") from None


def _optional_date(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidArticle("review_date_invalid") from None


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Article:
    id: int
    content: ArticleContent
    updated_at: datetime
    attachments: tuple[AttachmentInfo, ...]

    def title(self, lang: str) -> str:
        return in_language(lang, self.content.title_th, self.content.title_en)

    def body(self, lang: str) -> str:
        return in_language(lang, self.content.body_th, self.content.body_en)

    def overdue(self, today: date) -> bool:
        """Its review date has passed: its content may no longer be true."""
        return self.content.review_on is not None and self.content.review_on < today


@dataclass(frozen=True)
class Revision:
    revision: int
    saved_at: datetime
    saved_by: str
    published: bool


@dataclass(frozen=True)
class SearchHit:
    id: int
    title_th: str
    title_en: str
    published: bool
    in_title: bool

    def title(self, lang: str) -> str:
        return in_language(lang, self.title_th, self.title_en)


@dataclass(frozen=True)
class BasketItem:
    attachment_id: int
    filename: str
    content_type: str
    size: int
    article_id: int
    article_title_th: str
    article_title_en: str

    def article_title(self, lang: str) -> str:
        return in_language(lang, self.article_title_th, self.article_title_en)

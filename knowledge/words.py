"""Words for search. Thai is written without spaces between words, so PostgreSQL's own
parser would see a whole Thai sentence as one word; PyThaiNLP's dictionary segmentation
(newmm) cuts it into words here, and PostgreSQL indexes and matches those words as given
(a tsvector built from lexemes, not parsed again).

Titles are weight A and bodies weight B in the full vector; the titles' words are also kept
alone (knowledge.repository), so a match in a title can be ranked first.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from pythainlp.tokenize import word_tokenize

_TAG = re.compile(r"<[^>]*>")
# Word characters of any script, Thai vowel and tone marks (Unicode Mn) included.
_WORDLIKE = re.compile(r"[\w\u0e31\u0e34-\u0e3a\u0e47-\u0e4e]+")
MAX_QUERY_WORDS = 8


def words(text: str) -> list[str]:
    """The words of `text` (HTML tags dropped), lower-cased, punctuation and spaces left out."""
    plain = html.unescape(_TAG.sub(" ", text)).lower()
    found = []
    for token in word_tokenize(plain, engine="newmm", keep_whitespace=False):
        found.extend(_WORDLIKE.findall(token))
    return found


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_text(titles: Iterable[str], bodies: Iterable[str]) -> str:
    """A tsvector literal: every word of the titles with weight A, then the bodies' with B."""
    entries: list[str] = []
    position = 0
    for texts, weight in ((titles, "A"), (bodies, "B")):
        for text in texts:
            for word in words(text):
                position = min(position + 1, 16383)
                entries.append(f"{_lexeme(word)}:{position}{weight}")
    return " ".join(entries)


def tsquery_text(query: str) -> str | None:
    """A tsquery literal that every one of the query's words must match as a word's start
    (so "ส่ง" finds "ส่งออก"); None when the query has no word."""
    found = list(dict.fromkeys(words(query)))[:MAX_QUERY_WORDS]
    if not found:
        return None
    return " & ".join(f"{_lexeme(word)}:*" for word in found)

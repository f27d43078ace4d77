"""What an attachment may be. Its type is read from its first bytes (filetype's signatures),
never taken from the browser or the name alone, and the name's extension must agree, so a
script or a page renamed `form.pdf` is refused, and what is stored is served back as
exactly the type that was checked.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import unquote

import filetype

from knowledge.errors import DocumentRefused

# The types a citizen can open on any phone, with the extensions each may carry.
ALLOWED: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
}
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\"\\/:*?<>|]")


@dataclass(frozen=True)
class Document:
    filename: str
    content_type: str
    data: bytes


def safe_filename(name: str) -> str:
    """The name's last part, without control or path characters, at most 120 characters.
    Browsers percent-encode quotes and line breaks in a multipart file name (and some
    clients the whole name), so it is decoded first and then cleaned."""
    base = PureWindowsPath(PurePosixPath(unquote(name)).name).name
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFC", base)).strip(" .")
    stem, dot, ext = cleaned.rpartition(".")
    if dot and len(cleaned) > 120:
        cleaned = stem[: 119 - len(ext)] + "." + ext
    return cleaned[:120]


def checked_document(filename: str, data: bytes, max_bytes: int) -> Document:
    """The upload as a Document, or DocumentRefused saying why (empty, too large, a type
    not allowed, or a name whose extension is not its content's)."""
    if not data:
        raise DocumentRefused("empty")
    if len(data) > max_bytes:
        raise DocumentRefused("too_large")
    content_type = filetype.guess_mime(data)
    if content_type not in ALLOWED:
        raise DocumentRefused("type_not_allowed")
    name = safe_filename(filename)
    if not name.lower().endswith(ALLOWED[content_type]):
        raise DocumentRefused("extension_mismatch")
    return Document(filename=name, content_type=content_type, data=data)

"""An attachment's type is what its bytes are, not what its name or the browser claims."""

from __future__ import annotations

import pytest

from knowledge.documents import checked_document, safe_filename
from knowledge.errors import DocumentRefused
from tests.knowledge.conftest import PDF, PNG

LIMIT = 64 * 1024


def test_a_pdf_is_kept_as_a_pdf() -> None:
    document = checked_document("แบบฟอร์ม คำขอ.pdf", PDF, LIMIT)
    assert document.content_type == "application/pdf"
    assert document.filename == "แบบฟอร์ม คำขอ.pdf"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("page.pdf", b"<html><script>alert(1)</script></html>", "type_not_allowed"),
        ("run.pdf", b"#!/bin/sh\nrm -rf /\n", "type_not_allowed"),
        ("setup.pdf", b"MZ\x90\x00\x03" + b"\x00" * 60, "type_not_allowed"),
        ("picture.pdf", PNG, "extension_mismatch"),
        ("form.exe", PDF, "extension_mismatch"),
        ("empty.pdf", b"", "empty"),
        ("big.pdf", PDF + b" " * LIMIT, "too_large"),
    ],
)
def test_uploads_not_what_they_say_are_refused(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(DocumentRefused) as refused:
        checked_document(name, data, LIMIT)
    assert refused.value.reason == reason


def test_a_name_keeps_no_path_or_header_breaking_characters() -> None:
    climbing = "/".join(("..", "..", "secret", "form.pdf"))  # a path up and out
    assert safe_filename(climbing) == "form.pdf"
    assert safe_filename("C:\\Users\\x\\form.pdf") == "form.pdf"
    assert safe_filename("..%2F..%2Fsecret%2Fform.pdf") == "form.pdf"
    assert safe_filename('a"\r\nSet-Cookie: x.pdf') == "a___Set-Cookie_ x.pdf"

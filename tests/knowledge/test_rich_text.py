"""Whatever an editor pastes, the body an agent's panel shows runs no script."""

from __future__ import annotations

import pytest

from knowledge.rich_text import sanitise

HOSTILE = [
    '<script>alert("x")</script>',
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<p onclick="alert(1)" style="background:url(javascript:alert(1))">text</p>',
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="https://evil.example"></iframe>',
    '<form action="https://evil.example"><input name=x></form>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style>",
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "<<script>script>alert(1)<</script>/script>",
    '<object data="x.swf"></object><embed src="x.swf">',
]


@pytest.mark.parametrize("html", HOSTILE)
def test_hostile_html_loses_everything_that_could_run(html: str) -> None:
    clean = sanitise(html).lower()
    for danger in ("<script", "onerror", "onclick", "javascript:", "<iframe", "<form", "<img"):
        assert danger not in clean
    for danger in ("<svg", "<object", "<embed", "style=", "data:text", "<style"):
        assert danger not in clean


def test_the_formatting_editors_need_is_kept() -> None:
    html = (
        "<h3>ขั้นตอน</h3><p>ยื่นคำขอที่ <strong>กรมการค้าต่างประเทศ</strong></p>"
        "<ol><li>กรอกแบบฟอร์ม</li></ol>"
        '<p><a href="https://www.dft.go.th/">dft.go.th</a></p>'
    )
    clean = sanitise(html)
    assert "<h3>ขั้นตอน</h3>" in clean
    assert "<strong>กรมการค้าต่างประเทศ</strong>" in clean
    assert "<ol><li>กรอกแบบฟอร์ม</li></ol>" in clean
    assert 'href="https://www.dft.go.th/"' in clean
    assert 'rel="noopener noreferrer nofollow"' in clean

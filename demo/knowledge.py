"""Articles for the demo's knowledge base, so an agent on a demo call has something to find,
read and send: written once, by the demo supervisor, through the real repository."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from knowledge.articles import ArticleContent
from knowledge.repository import KnowledgeRepository

FORM = Path(__file__).with_name("documents") / "export-licence-form.pdf"
ARTICLES = (
    {
        "title_th": "ขั้นตอนการขอใบอนุญาตส่งออกข้าว",
        "title_en": "Applying for a rice export licence",
        "body_th": "<p>ผู้ส่งออกยื่นคำขอที่<strong>กรมการค้าต่างประเทศ</strong> พร้อมเอกสาร:</p>"
        "<ol><li>แบบคำขอ (แนบ)</li><li>สำเนาหนังสือรับรองบริษัท</li></ol>",
        "body_en": "<p>Exporters apply at the <strong>Department of Foreign Trade</strong> with:"
        "</p><ol><li>the application form (attached)</li><li>the company certificate</li></ol>",
        "tags": "ส่งออก, ข้าว",
    },
    {
        "title_th": "หนังสือรับรองถิ่นกำเนิดสินค้า",
        "title_en": "Certificate of origin",
        "body_th": "<p>ขอหนังสือรับรองถิ่นกำเนิดสินค้าทางออนไลน์ได้ตลอด 24 ชั่วโมง</p>",
        "body_en": "<p>Certificates of origin can be requested online at any hour.</p>",
        "tags": "ถิ่นกำเนิด",
    },
)


async def ensure_articles(knowledge: KnowledgeRepository, author: int, now: datetime) -> None:
    """The demo articles, unless the knowledge base already has any."""
    if await knowledge.articles():
        return
    for n, fields in enumerate(ARTICLES):
        article_id = await knowledge.create(
            ArticleContent.parse({**fields, "published": "on"}), author, now
        )
        if n == 0:
            await knowledge.add_attachment(
                article_id, "คำขอใบอนุญาตส่งออก.pdf", FORM.read_bytes(), author, now
            )

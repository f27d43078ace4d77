"""The knowledge base's settings (`[knowledge]` in the TOML file, HOTLINE_KNOWLEDGE__*)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class KnowledgeSettings(BaseModel):
    # The largest document an editor may attach; uploads are read whole, so it bounds the
    # request size too (hotline.app).
    max_attachment_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)

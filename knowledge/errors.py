"""The knowledge base's refusals, each with a code the pages show in the user's language."""

from __future__ import annotations


class KnowledgeError(Exception):
    code = "knowledge_error"
    status = 422

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DocumentRefused(KnowledgeError):
    """An upload that is not a document the knowledge base keeps."""

    code = "document_refused"


class InvalidArticle(KnowledgeError):
    """An article without a title in either language, or with a field out of bounds."""

    code = "invalid_article"

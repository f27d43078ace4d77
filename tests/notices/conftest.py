"""The case fixtures (repository, people, the service with its case pages) for notices."""

from tests.cases.conftest import people, repo, site

__all__ = ["people", "repo", "site"]

"""The case fixtures (repository, people) for the notices' tests."""

from tests.cases.conftest import people, repo

__all__ = ["people", "repo"]

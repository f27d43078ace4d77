"""Fixtures for case tests: a repository on the fresh database, people in each role."""

from __future__ import annotations

import pytest

from cases.db import Database
from cases.lifecycle import Role
from cases.models import Actor
from cases.repository import CaseRepository
from tests.cases.factories import People, add_user


@pytest.fixture
def repo(db: Database) -> CaseRepository:
    return CaseRepository(db.pool)


@pytest.fixture
async def people(db: Database, repo: CaseRepository) -> People:
    water = await repo.create_unit("กองประปา สาขา 1")
    roads = await repo.create_unit("Roads")
    return People(
        agent=Actor(await add_user(db, "agent1", "agent"), Role.AGENT),
        other_agent=Actor(await add_user(db, "agent2", "agent"), Role.AGENT),
        supervisor=Actor(await add_user(db, "sup", "supervisor"), Role.SUPERVISOR),
        unit=Actor(await add_user(db, "water", "unit", water.id), Role.UNIT, water.id),
        other_unit=Actor(await add_user(db, "roads", "unit", roads.id), Role.UNIT, roads.id),
        unit_id=water.id,
        other_unit_id=roads.id,
    )

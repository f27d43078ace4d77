"""Fixtures for case tests: a repository on the fresh database, people in each role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from cases.lifecycle import Role
from cases.models import Actor
from cases.repository import CaseRepository
from config.settings import load_settings
from database.pool import Database
from hotline.app import create_app
from runtime.clock import ManualClock
from tests.cases.factories import NOW, People, add_user
from tests.cases.site import Site


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


@pytest.fixture
async def site(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[Site]:
    """The real service on a fresh database, its clock fixed at NOW, with the case pages."""
    settings = load_settings(database_url=fresh_db_url, data_dir=tmp_path)
    app = create_app(settings, clock=ManualClock(NOW))
    async with TestClient(TestServer(app)) as client:
        yield Site(client)

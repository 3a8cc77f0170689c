"""Fixtures for the chains tests: fresh migrated databases and the bus + recorder wiring."""

from __future__ import annotations

import pytest

from tests.helpers.db import fresh_database

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
async def db(request, tmp_path):
    async with fresh_database(request.param, tmp_path) as database:
        yield database


@pytest.fixture
async def sqlite_db(tmp_path):
    async with fresh_database("sqlite", tmp_path) as database:
        yield database

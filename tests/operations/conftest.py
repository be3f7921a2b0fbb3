"""Operations views report on the whole database: each module here gets a database of its own.

Health, counts and dashboards answer for every row, so rows other tests leave behind (a
webhook that failed on purpose, say) must not be able to change what these tests see.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sessionbook.core.db import Database
from tests.conftest import DatabaseUnderTest, fresh_test_database


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def test_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DatabaseUnderTest]:
    async with fresh_test_database(request.param, tmp_path_factory.mktemp("sqlite")) as database:
        yield database


@pytest.fixture(scope="module")
async def owner_db(test_db: DatabaseUnderTest) -> AsyncIterator[Database]:
    database = Database(test_db.owner_url)
    yield database
    await database.dispose()

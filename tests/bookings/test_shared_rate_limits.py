"""With REDIS_URL, instances share one rate-limit count per address."""

from __future__ import annotations

import os

import pytest
from redis import Redis
from redis.exceptions import RedisError

from sessionbook.http.ratelimit import Limit, MemoryLimitStore, RedisLimitStore
from tests.conftest import DatabaseUnderTest, run_server
from tests.support.queries import start_of_a_fresh_window

FREE = {"packageId": "discovery", "customerName": "Test User", "customerEmail": "t@example.com"}
# A database of its own, emptied first, so counts of other runs cannot leak in.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url() -> str:
    try:
        client = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.flushdb()
        client.close()
    except RedisError:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis is required but not reachable at {REDIS_URL}")
        pytest.skip("Redis not reachable")
    return REDIS_URL


async def test_two_instances_share_the_create_limit(
    test_db: DatabaseUnderTest, redis_url: str
) -> None:
    settings = {"rate_limits": "on", "redis_url": redis_url}
    with run_server(test_db, **settings) as first, run_server(test_db, **settings) as second:
        async with first.client() as one, second.client() as two:
            await start_of_a_fresh_window()
            codes = []
            for index in range(10):
                client = one if index % 2 else two
                codes.append(
                    (await client.post("/functions/v1/booking-create", json=FREE)).status_code
                )
            limited = await one.post("/functions/v1/booking-create", json=FREE)
            also_limited = await two.post("/functions/v1/booking-create", json=FREE)

    assert codes == [201] * 10
    assert limited.status_code == 429
    assert also_limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1


@pytest.mark.parametrize("storage", ["memory", "redis"])
async def test_a_store_counts_per_key_and_says_how_long_to_wait(
    storage: str, request: pytest.FixtureRequest
) -> None:
    store: MemoryLimitStore | RedisLimitStore = (
        MemoryLimitStore()
        if storage == "memory"
        else RedisLimitStore(request.getfixturevalue("redis_url"))
    )
    limit = Limit(count=3, window_seconds=60)
    try:
        hits = [await store.hit("create:10.0.0.1", limit) for _ in range(5)]
        over_before_any_hit = await store.over("create:10.0.0.2", limit)
        over_when_full = await store.over("create:10.0.0.1", limit)
        other_address = await store.hit("create:10.0.0.2", limit)
    finally:
        if isinstance(store, RedisLimitStore):
            await store.aclose()

    assert hits[:3] == [None, None, None]
    assert hits[3] is not None
    assert hits[4] is not None
    assert 1 <= hits[4] <= 60
    assert over_when_full is not None
    assert 1 <= over_when_full <= 60
    assert over_before_any_hit is None
    assert other_address is None  # the count is per key: one address does not block another

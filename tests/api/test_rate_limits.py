"""Too-fast callers get 429 with Retry-After; others are not affected."""

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.harness import RunningServer, bearer, running_server, settings_for_tests, user_with_token


@pytest.fixture
async def strict_server(mongodb_uri: str) -> AsyncIterator[RunningServer]:
    settings = settings_for_tests(
        requests_per_second_per_ip=1e6,
        requests_burst_per_ip=1e6,
        requests_per_second_per_token=1,
        requests_burst_per_token=5,
        auth_failures_per_minute=10,
    )
    async with running_server(settings, mongodb_uri) as running:
        yield running


async def test_a_token_over_its_rate_gets_429_and_others_do_not(
    strict_server: RunningServer,
) -> None:
    fast = await user_with_token(strict_server.accounts, "fast")
    calm = await user_with_token(strict_server.accounts, "calm")
    async with httpx.AsyncClient(base_url=strict_server.url) as client:
        statuses = [
            (await client.get("/api/me", headers=bearer(fast))).status_code for _ in range(8)
        ]
        assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3
        limited = await client.get("/api/me", headers=bearer(fast))
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        assert (await client.get("/api/me", headers=bearer(calm))).status_code == 200


async def test_repeated_bad_credentials_from_one_ip_are_throttled(
    strict_server: RunningServer,
) -> None:
    async with httpx.AsyncClient(base_url=strict_server.url) as client:
        statuses = [
            (await client.get("/api/me", headers=bearer(f"jb_{i:016x}_{'x' * 43}"))).status_code
            for i in range(12)
        ]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]


async def test_per_ip_limit(mongodb_uri: str) -> None:
    settings = settings_for_tests(requests_per_second_per_ip=1, requests_burst_per_ip=3)
    async with running_server(settings, mongodb_uri) as running:
        token = await user_with_token(running.accounts, "ip")
        async with httpx.AsyncClient(base_url=running.url, headers=bearer(token)) as client:
            statuses = [(await client.get("/api/me")).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]

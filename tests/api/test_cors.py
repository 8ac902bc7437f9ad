"""Frontends on their own origin: CORS grants only the configured origins, with credentials."""

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.harness import RunningServer, bearer, running_server, settings_for_tests, user_with_token

APP = "https://app.example"


@pytest.fixture(scope="module")
async def with_origins(mongodb_uri: str) -> AsyncIterator[RunningServer]:
    async with running_server(settings_for_tests(allowed_origins=(APP,)), mongodb_uri) as server:
        yield server


async def test_an_allowed_origin_gets_a_credentialed_cors_grant(
    with_origins: RunningServer,
) -> None:
    token = await user_with_token(with_origins.accounts, "cors-user")
    async with httpx.AsyncClient(base_url=with_origins.url) as http:
        preflight = await http.options(
            "/api/boards",
            headers={"Origin": APP, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization, content-type"},
        )  # fmt: skip
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == APP
        assert preflight.headers["access-control-allow-credentials"] == "true"
        listed = await http.get("/api/boards", headers={"Origin": APP, **bearer(token)})
        assert listed.headers["access-control-allow-origin"] == APP


async def test_other_origins_get_no_cors_grant(with_origins: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=with_origins.url) as http:
        evil = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        preflight = await http.options("/api/boards", headers=evil)
        assert "access-control-allow-origin" not in preflight.headers
        plain = await http.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in plain.headers

"""A server with short timeouts and small caps, shared by the websocket tests."""

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.harness import RunningServer, bearer, running_server, settings_for_tests


@pytest.fixture(scope="package")
async def quick(mongodb_uri: str) -> AsyncIterator[RunningServer]:
    """A server with short timeouts and small caps, so limits show in seconds."""
    settings = settings_for_tests(
        heartbeat_interval=0.5, heartbeat_timeout=0.5, auth_timeout=1.0, ws_connections_per_user=3,
        ws_ops_per_second=20, ws_ops_burst=20, ws_flood_seconds=1.0, presence_hz=5,
    )  # fmt: skip
    async with running_server(settings, mongodb_uri) as running:
        yield running


async def new_board(server: RunningServer, token: str) -> str:
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
        return str((await http.post("/api/boards", json={"title": "Secure"})).json()["id"])


async def invite(
    server: RunningServer, owner: str, board: str, user: str, role: str | None
) -> None:
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(owner)) as http:
        path = f"/api/boards/{board}/members/{user}"
        response = await (http.put(path, json={"role": role}) if role else http.delete(path))
        assert response.status_code in (200, 204), response.text

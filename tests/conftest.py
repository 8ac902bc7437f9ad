"""Session fixtures: nx-27017 (or MONGODB_URI), one server under uvicorn, HTTP clients."""

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from server.settings import Settings
from server.store.embedded import EmbeddedStore
from server.store.mongo import Store
from tests.harness import RunningServer, running_server


@pytest.fixture(scope="session")
def mongodb_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MongoDB-wire server: MONGODB_URI if set, else nx-27017 started for this run."""
    if uri := os.environ.get("MONGODB_URI"):
        yield uri
        return
    with EmbeddedStore(tmp_path_factory.mktemp("nx-27017")) as store:
        yield store.uri


def fresh_database() -> str:
    return f"jbtest_{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
async def server(mongodb_uri: str) -> AsyncIterator[RunningServer]:
    async with running_server(Settings(database=fresh_database()), mongodb_uri) as running:
        yield running


@pytest.fixture(scope="session")
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
async def store(mongodb_uri: str) -> AsyncIterator[Store]:
    """A repository on a database of its own, dropped afterwards."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri)
    name = fresh_database()
    repository = Store(client, name)
    await repository.ensure_indexes()
    yield repository
    await client.drop_database(name)
    await client.close()


@pytest.fixture
async def board(http: httpx.AsyncClient) -> dict[str, Any]:
    """A fresh empty board, created over REST."""
    response = await http.post("/api/boards", json={"title": "Test board"})
    assert response.status_code == 201, response.text
    return dict(response.json())

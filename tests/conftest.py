"""Session fixtures: nx-27017 (or MONGODB_URI), one server under uvicorn, HTTP clients."""

import logging
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from server.store.embedded import EmbeddedStore
from server.store.mongo import Store
from tests.harness import (
    MINTED,
    TOKEN_SHAPE,
    LogRecorder,
    RunningServer,
    bearer,
    running_server,
    settings_for_tests,
    store_of_its_own,
    user_with_token,
)
from tests.processes import LOGS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first: started last, one would keep a worker busy after the others end."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session", autouse=True)
def no_secret_is_ever_logged() -> Iterator[LogRecorder]:
    """Record every log line of the run, ours and the served processes'; fail on any secret.

    A secret is anything token-shaped, or any token or password the suite minted.
    """
    recorder = LogRecorder()
    loggers = [
        logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error")
    ]
    for logger in loggers:
        logger.addHandler(recorder)
    logging.getLogger().setLevel(logging.INFO)
    yield recorder
    for logger in loggers:
        logger.removeHandler(recorder)
    lines = recorder.lines + [
        line for path in LOGS if path.exists() for line in path.read_text().splitlines()
    ]
    leaks = [line for line in lines if TOKEN_SHAPE.search(line) or any(s in line for s in MINTED)]
    assert not leaks, f"secrets in logs: {leaks[:3]}"


@pytest.fixture(scope="session")
def mongodb_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MongoDB-wire server: MONGODB_URI if set, else nx-27017 started for this run."""
    if uri := os.environ.get("MONGODB_URI"):
        yield uri
        return
    with EmbeddedStore(tmp_path_factory.mktemp("nx-27017")) as store:
        yield store.uri


@pytest.fixture(scope="session")
async def server(mongodb_uri: str) -> AsyncIterator[RunningServer]:
    async with running_server(settings_for_tests(), mongodb_uri) as running:
        yield running


@pytest.fixture(scope="session")
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as `tester`, an ordinary user."""
    token = await user_with_token(server.accounts, "tester")
    async with httpx.AsyncClient(base_url=server.url, timeout=30, headers=bearer(token)) as client:
        yield client


@pytest.fixture
async def store(mongodb_uri: str) -> AsyncIterator[Store]:
    """A repository on a database of its own, dropped afterwards."""
    async with store_of_its_own(mongodb_uri) as repository:
        yield repository


@pytest.fixture
async def board(http: httpx.AsyncClient) -> dict[str, Any]:
    """A fresh empty board owned by `tester`, created over REST."""
    response = await http.post("/api/boards", json={"title": "Test board"})
    assert response.status_code == 201, response.text
    return dict(response.json())

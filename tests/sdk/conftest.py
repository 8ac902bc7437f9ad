"""SDK clients signed in as the same user as the `http` fixture (`tester`)."""

from collections.abc import AsyncIterator

import pytest

from client_sdk import AsyncJourneyboardClient
from tests.harness import RunningServer, user_with_token


@pytest.fixture
async def tester_token(server: RunningServer) -> str:
    return await user_with_token(server.accounts, "tester")


@pytest.fixture
async def jb(server: RunningServer, tester_token: str) -> AsyncIterator[AsyncJourneyboardClient]:
    async with AsyncJourneyboardClient(server.url, tester_token) as client:
        yield client

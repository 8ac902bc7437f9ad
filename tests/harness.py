"""Real parts for tests: the app under uvicorn on a loopback port, on a real database."""

import asyncio
import contextlib
import logging
import re
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from pymongo import AsyncMongoClient, monitoring
from starlette.applications import Starlette

from server.api.services import Services
from server.app import create_app
from server.auth import new_token
from server.serving import Server, server_config
from server.settings import Settings
from server.store.accounts import Accounts, UserExists, UserRecord
from server.store.mongo import BoardRecord, Store

TOKEN = re.compile(r"jb_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")
TOKEN_SHAPE = re.compile(r"jb_[0-9a-f]{16}_")  # even part of a token must never be logged
MINTED: set[str] = set()  # every token and password the suite made, sought in every log after
# Tests send many requests from one IP; the limits themselves are tested on servers of their own.
UNLIMITED: dict[str, float] = {
    "requests_per_second_per_ip": 1e6,
    "requests_burst_per_ip": 1e6,
    "requests_per_second_per_token": 1e6,
    "requests_burst_per_token": 1e6,
    "auth_failures_per_minute": 10**6,
    "ws_ops_per_second": 1e6,
    "ws_ops_burst": 1e6,
    "ws_connections_per_user": 10**6,
}


# Every kind of caller the access matrices (REST and websocket) check.
CALLERS = [
    "anonymous",
    "malformed",
    "revoked",
    "outsider",
    "viewer",
    "commenter",
    "editor",
    "owner",
    "admin",
]


def plain_record(board_id: str = "b1", title: str = "t") -> BoardRecord:
    """A board document with nothing but the required fields, for store-level tests."""
    return BoardRecord(
        id=board_id,
        title=title,
        description="",
        tags=[],
        owner="u",
        template=None,
        created_at=0,
        updated_at=0,
    )


def fresh_database() -> str:
    return f"jbtest_{secrets.token_hex(4)}"


@contextlib.asynccontextmanager
async def store_of_its_own(
    mongodb_uri: str, *listeners: monitoring.CommandListener
) -> AsyncIterator[Store]:
    """A repository on a database of its own, dropped afterwards; `listeners` hear every
    command its client sends."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongodb_uri, event_listeners=list(listeners)
    )
    store = Store(client, fresh_database())
    try:
        await store.ensure_indexes()
        yield store
    finally:
        await client.drop_database(store.db.name)
        await client.close()


def settings_for_tests(**overrides: Any) -> Settings:
    """Settings on a database of their own, without rate limits unless `overrides` set them."""
    return Settings(database=fresh_database(), **{**UNLIMITED, **overrides})


@dataclass
class RunningServer:
    url: str
    app: Starlette
    settings: Settings

    @property
    def services(self) -> Services:
        found: Services = self.app.state.services
        return found

    @property
    def accounts(self) -> Accounts:
        return self.services.accounts


class LogRecorder(logging.Handler):
    """Keeps every formatted log line, so a test can prove no secret was ever logged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.asynccontextmanager
async def running_server(
    settings: Settings, mongodb_uri: str, port: int = 0, send_buffer: int | None = None
) -> AsyncIterator[RunningServer]:
    """Serve the app with uvicorn on 127.0.0.1 and a free port (or `port`), in this loop.

    `send_buffer` caps each connection's kernel send buffer (accepted sockets inherit it),
    so a client that stops reading pushes back within kilobytes rather than megabytes.
    """
    app = create_app(settings, mongodb_uri)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    server = Server(server_config(app, settings))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", app, settings)
    finally:
        server.should_exit = True
        await task
        sock.close()


async def user_with_token(accounts: Accounts, name: str, admin: bool = False) -> str:
    """Make sure `name` exists and return a fresh API token for them."""
    with contextlib.suppress(UserExists):
        await accounts.add_user(UserRecord(name=name, admin=admin))
    token, record = new_token(name, 0)
    await accounts.add_token(record)
    MINTED.add(token)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def eventually(
    condition: Callable[[], bool], within: float = 10, every: float = 0.02
) -> None:
    """Wait until `condition()` holds, polling: for state another task or process changes."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - there is no event to wait on
            await asyncio.sleep(every)


def against_a_live_server(examples: int) -> settings:
    """Hypothesis settings for scripts run against a real server: each example takes real
    time (no deadline, and slow generation is expected), and the server fixture is meant to
    be shared by the examples, not rebuilt for each."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )

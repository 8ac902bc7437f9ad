"""The server's commands of `journeyboard`: run the server, manage users and tokens.

User and token commands reach the same database as the server: MONGODB_URI, or the
embedded store under JOURNEYBOARD_DATA (the running server's, or one started for the
command). They print only what a script needs (a token) on stdout. journeyboard/cli.py
puts these and the SDK's client commands under one `journeyboard` program.
"""

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import msgspec

from server import logs
from server.app import DatabaseUnreachable, create_app, open_store, redact
from server.auth import hash_password, new_secret, new_token, token_id
from server.clock import now_ms
from server.serving import Server, server_config
from server.settings import Settings
from server.store.accounts import Accounts, UserExists, UserRecord
from server.store.embedded import EmbeddedStore, EmbeddedStoreError

log = logging.getLogger("journeyboard")
DAY_MS = 86_400_000
CREDENTIALS_FILE = "admin-credentials.txt"


class CommandError(Exception):
    """A one-line message for the user; the command exits with status 1."""


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[str]:
    """MONGODB_URI, the embedded store already serving the data folder, or a new one."""
    if settings.mongodb_uri:
        yield settings.mongodb_uri
        return
    store = EmbeddedStore(settings.data_dir.resolve())
    if running := store.running_uri():
        yield running
        return
    with store:
        store.supervise()
        log.info("embedded store (nx-27017) at %s, data in %s", store.uri, store.folder)
        log.info("embedded store: journaled writes are synced to disk (SQLite synchronous=FULL)")
        yield store.uri


@contextlib.asynccontextmanager
async def accounts(settings: Settings, uri: str) -> AsyncIterator[Accounts]:
    store = await open_store(settings, uri)
    try:
        repository = Accounts(store.db)
        await repository.ensure_indexes()
        yield repository
    finally:
        await store.close()


async def add_user(repository: Accounts, name: str, admin: bool) -> str:
    """Create a user and return a first API token for them."""
    try:
        await repository.add_user(UserRecord(name=name, admin=admin, created_at=now_ms()))
    except UserExists:
        raise CommandError(
            f"user {name!r} exists; use `journeyboard token create {name}`"
        ) from None
    return await create_token(repository, name)


async def create_token(
    repository: Accounts, name: str, label: str = "", expires_days: int | None = None
) -> str:
    if await repository.get_user(name) is None:
        raise CommandError(f"no user {name!r}; add one with `journeyboard user add {name}`")
    at = now_ms()
    token, record = new_token(name, at, label, at + expires_days * DAY_MS if expires_days else None)
    await repository.add_token(record)
    return token


async def revoke_token(repository: Accounts, token_or_id: str) -> str:
    target = token_id(token_or_id) or token_or_id
    if not await repository.revoke_token(target):
        raise CommandError(f"no token with id {target!r}")
    return f"revoked {target}"


async def list_tokens(repository: Accounts, name: str) -> str:
    rows = [
        f"{t.id}  {'revoked' if t.revoked else 'active '}  {t.label}"
        for t in await repository.tokens_of(name)
    ]
    return "\n".join(rows) or f"{name} has no tokens"


async def set_password(repository: Accounts, name: str) -> str:
    password = (
        getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    )
    if len(password) < 8:
        raise CommandError("passwords need at least 8 characters")
    if not await repository.set_password(name, hash_password(password)):
        raise CommandError(f"no user {name!r}")
    return f"password set for {name}"


async def bootstrap(repository: Accounts, url: str) -> str | None:
    """On a store with no users, make `admin` and return how to sign in (shown once)."""
    if await repository.has_users():
        return None
    password = new_secret()[:20]
    try:
        token = await add_user(repository, "admin", admin=True)
    except CommandError:
        return None  # another instance, starting at the same time, made it first
    await repository.set_password("admin", hash_password(password))
    return (
        "First start: created user 'admin'. This is shown only once.\n"
        f"  API token: {token}\n"
        f"  Sign in at {url}/login with admin / {password}\n"
    )


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """Uvicorn re-raises SIGTERM after its graceful shutdown; exit so the store stops too."""
    raise SystemExit(0)


def hand_over(welcome: str, folder: Path) -> None:
    """Give the first-start credentials to the operator, never to the logs.

    They go to a file only its owner can read; a person at a terminal also sees them once.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CREDENTIALS_FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(welcome)
    log.warning("first start: created user 'admin'; its token and password are in %s", path)
    if sys.stdout.isatty():
        print(welcome, flush=True)


def healthcheck(settings: Settings) -> int:
    """0 if this machine's server says it is ready (the container HEALTHCHECK), else 1."""
    try:
        answer = httpx.get(f"http://127.0.0.1:{settings.port}/readyz", timeout=3)
    except httpx.HTTPError as error:
        print(f"journeyboard: not ready ({type(error).__name__})", file=sys.stderr)
        return 1
    return 0 if answer.status_code == 200 else 1


def serve(settings: Settings) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with database(settings) as uri:
        log.info("database %s", redact(uri))
        welcome = _run(
            settings, uri, lambda r: bootstrap(r, f"http://{settings.host}:{settings.port}")
        )
        if welcome:
            hand_over(welcome, settings.data_dir)
        app = create_app(settings, uri)
        server = Server(server_config(app, settings))
        server.run()
        return 0 if server.started else 1


def _run(
    settings: Settings, uri: str, action: Callable[[Accounts], Awaitable[str | None]]
) -> str | None:
    async def go() -> str | None:
        async with accounts(settings, uri) as repository:
            return await action(repository)

    return asyncio.run(go())


COMMANDS = frozenset({"serve", "healthcheck", "user", "token"})


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the server's commands to `journeyboard`'s; `run` carries them out."""
    run = commands.add_parser(
        "serve", help="run the API server (embedded store unless MONGODB_URI is set)"
    )
    run.add_argument("--host", help="interface to bind (default 127.0.0.1, or HOST)")
    run.add_argument("--port", type=int, help="port to listen on (default 8000, or PORT)")
    commands.add_parser("healthcheck", help="exit 0 if the server on PORT is ready, else 1")
    user = commands.add_parser("user", help="add users and set passwords").add_subparsers(
        dest="action", required=True
    )
    add = user.add_parser("add", help="create a user and print a new API token")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may do everything on every board")
    user.add_parser("passwd", help="set a browser sign-in password (read from stdin)").add_argument(
        "name"
    )
    token = commands.add_parser("token", help="create, list and revoke API tokens").add_subparsers(
        dest="action", required=True
    )
    create = token.add_parser("create", help="print a new API token for a user")
    create.add_argument("name")
    create.add_argument("--label", default="")
    create.add_argument("--expires-days", type=int)
    token.add_parser("revoke", help="revoke a token (the token itself or its id)").add_argument(
        "token"
    )
    token.add_parser("list", help="list a user's tokens (ids only)").add_argument("name")


def run(args: argparse.Namespace) -> int:
    """Carry out a command `register` added; 1 with one line on stderr when it fails."""
    logs.configure("text", "info")
    try:
        settings = Settings.from_env()
        if args.command == "serve":
            logs.configure(settings.log_format, settings.log_level)
            overrides = {
                k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None
            }
            return serve(msgspec.structs.replace(settings, **overrides))
        if args.command == "healthcheck":
            return healthcheck(settings)
        actions: dict[tuple[str, str], Callable[[Accounts], Awaitable[str | None]]] = {
            ("user", "add"): lambda r: add_user(r, args.name, args.admin),
            ("user", "passwd"): lambda r: set_password(r, args.name),
            ("token", "create"): lambda r: create_token(
                r, args.name, args.label, args.expires_days
            ),
            ("token", "revoke"): lambda r: revoke_token(r, args.token),
            ("token", "list"): lambda r: list_tokens(r, args.name),
        }
        logging.getLogger().setLevel(logging.WARNING)
        with database(settings) as uri:
            print(_run(settings, uri, actions[args.command, args.action]))
        return 0
    except (
        CommandError,
        EmbeddedStoreError,
        DatabaseUnreachable,
        msgspec.ValidationError,
    ) as error:
        print(f"journeyboard: {error}", file=sys.stderr)
        return 1

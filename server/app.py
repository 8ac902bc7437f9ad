"""The Starlette application: wires the store, the rooms and the routes together."""

import asyncio
import contextlib
import gc
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from importlib.metadata import version

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from schemas import asyncapi
from server.api import accounts, boards, evidence, health, insights, members
from server.api.access import Limiter
from server.api.errors import (
    ApiError,
    on_api_error,
    on_http_error,
    on_outcome_unknown,
    on_rejected,
    on_store_error,
)
from server.api.routing import json_response, openapi, routes
from server.api.services import Services
from server.board import Rejected
from server.metrics import QUEUE_DEPTH, ROOMS, SESSIONS, metrics
from server.observe import Observe
from server.ratelimit import Buckets
from server.settings import Settings
from server.store.accounts import Accounts
from server.store.evidence import Evidence
from server.store.mongo import Store, StoreError
from server.sync.bus import Signals, follow_commits
from server.sync.drain import drain
from server.sync.insight_feed import InsightFeed
from server.sync.results import OutcomeUnknown
from server.sync.room import Rooms
from server.web.pages import ROUTES as PAGE_ROUTES
from server.ws import board_socket

log = logging.getLogger("journeyboard")


def cors(settings: Settings) -> Middleware:
    """Frontends served from the origins in JOURNEYBOARD_ORIGINS may call the API with
    credentials; no other origin gets a CORS grant."""
    return Middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )


BOARD_SOCKET = WebSocketRoute("/ws/boards/{board_id}", board_socket)


def sockets_first(app: Starlette) -> ASGIApp:
    """The app's middleware stack, with board sockets handed straight to their endpoint (the
    one place they are routed).

    The HTTP middleware (access log, CORS, error pages) has nothing to do for a websocket,
    yet each layer would stay suspended for the socket's whole life: about a tenth of what
    an idle connection costs. So would the route's own wrappers, whose exception handlers
    come from that middleware. Dispatching returns the awaitable rather than awaiting it, so
    it leaves no frame behind either. Origin, credentials and limits are checked in server/ws.py.
    """
    stack = app.build_middleware_stack()

    def dispatch(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] == "websocket":
            match, child = BOARD_SOCKET.matches(scope)
            if match is Match.FULL:
                scope.update(child)
                return board_socket(WebSocket(scope, receive, send))
        return stack(scope, receive, send)

    return dispatch


def settle_heap() -> None:
    """Keep full garbage collections rare: each walks every live object (80-180 ms on a
    server holding 500 sockets and 100 boards, measured under `bench.live many_boards`), a
    pause every client on the instance feels. What startup made lives as long as the process,
    so the collector stops walking it; and a full collection waits for 100 young ones, not 10.
    """
    gc.freeze()
    gc.set_threshold(700, 10, 100)


ENDPOINTS = [
    *health.ENDPOINTS,
    *accounts.ENDPOINTS,
    *boards.ENDPOINTS,
    *members.ENDPOINTS,
    *evidence.ENDPOINTS,
    *insights.ENDPOINTS,
]
STOP_SECONDS = 3.0  # the most each background task and the store may take to stop


class DatabaseUnreachable(RuntimeError):
    """The server cannot start without its database; the message says what to do."""


def redact(uri: str) -> str:
    """The URI without its password, fit for logs and error messages."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", uri)


async def open_store(settings: Settings, mongodb_uri: str) -> Store:
    """A store whose database answered and has its indexes, or DatabaseUnreachable."""
    store = Store.connect(mongodb_uri, settings.database, settings.connect_timeout_ms)
    try:
        await store.ping()
        await store.ensure_indexes()
    except StoreError as error:
        await store.close()
        message = (
            f"cannot reach MongoDB at {redact(mongodb_uri)} ({type(error).__name__}). "
            "Start MongoDB there, fix MONGODB_URI, or unset it to use the embedded store."
        )
        log.error(message)
        raise DatabaseUnreachable(message) from None
    return store


def create_app(settings: Settings, mongodb_uri: str) -> Starlette:
    """Build the app for one database; the client is opened and checked at start-up."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = await open_store(settings, mongodb_uri)
        people = Accounts(store.db)
        await people.ensure_indexes()
        evidence = Evidence(store.db)
        await evidence.ensure_indexes()
        rooms = Rooms(store, people, settings)
        feed = InsightFeed(evidence, rooms)
        signals = Signals(store, rooms)
        rooms.relay = signals.share
        app.state.services = Services(
            settings=settings,
            store=store,
            accounts=people,
            evidence=evidence,
            rooms=rooms,
            feed=feed,
            signals=signals,
        )
        app.state.drain = lambda: drain(rooms, settings.drain_seconds)
        QUEUE_DEPTH.set_function(lambda: sum(room.committer.waiting for room in rooms))
        ROOMS.set_function(lambda: sum(1 for _ in rooms))
        SESSIONS.set_function(lambda: sum(len(room.sessions) for room in rooms))
        background = [
            asyncio.create_task(health.ping_store(store), name="store pings"),
            asyncio.create_task(follow_commits(store, rooms), name="follow commits"),
            asyncio.create_task(signals.follow(), name="follow signals"),
            asyncio.create_task(rooms.heartbeat(), name="heartbeats"),
        ]
        settle_heap()
        try:
            yield
        finally:
            rooms.close_all()
            await feed.close()
            for task in background:
                task.cancel()
            # Shutdown is bounded: a change stream closing on a stalled store must not hang it.
            _, stuck = await asyncio.wait(background, timeout=STOP_SECONDS)
            for task in stuck:
                log.warning("%s did not stop within %s s", task.get_name(), STOP_SECONDS)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_SECONDS):
                    await store.close()

    spec = openapi(ENDPOINTS, "Journeyboard", version("journeyboard"))

    async def openapi_json(request: Request) -> Response:
        return json_response(spec)

    live_spec = asyncapi.document()

    async def asyncapi_json(request: Request) -> Response:
        return json_response(live_spec)

    app = Starlette(
        routes=[
            *routes(ENDPOINTS),
            Route("/openapi.json", openapi_json, methods=["GET"]),
            *PAGE_ROUTES,
            Route("/metrics", metrics, methods=["GET"]),
            Route("/asyncapi.json", asyncapi_json, methods=["GET"]),
        ],
        lifespan=lifespan,
        middleware=[Middleware(Observe), cors(settings)],
        exception_handlers={
            ApiError: on_api_error,
            Rejected: on_rejected,
            HTTPException: on_http_error,
            StoreError: on_store_error,
            OutcomeUnknown: on_outcome_unknown,
        },
    )
    app.middleware_stack = sockets_first(app)
    app.state.connections = Counter()
    app.state.limiter = Limiter(
        per_ip=Buckets(settings.requests_per_second_per_ip, settings.requests_burst_per_ip),
        per_user=Buckets(settings.requests_per_second_per_token, settings.requests_burst_per_token),
        failures=Buckets(settings.auth_failures_per_minute / 60, settings.auth_failures_per_minute),
    )
    return app

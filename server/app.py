"""The Starlette application: wires the store, the rooms and the routes together."""

import contextlib
import logging
import re
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api import boards, health
from server.api.errors import ApiError, on_api_error, on_http_error, on_rejected
from server.api.routing import json_response, openapi, routes
from server.api.services import Services
from server.board import Rejected
from server.settings import Settings
from server.store.mongo import Store, StoreError
from server.sync.room import Rooms

log = logging.getLogger("journeyboard")
ENDPOINTS = [*health.ENDPOINTS, *boards.ENDPOINTS]
VERSION = "0.1.0"


class DatabaseUnreachable(RuntimeError):
    """The server cannot start without its database; the message says what to do."""


def redact(uri: str) -> str:
    """The URI without its password, fit for logs and error messages."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", uri)


def create_app(settings: Settings, mongodb_uri: str) -> Starlette:
    """Build the app for one database; the client is opened and checked at start-up."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
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
        app.state.services = Services(settings=settings, store=store, rooms=Rooms(store, settings))
        try:
            yield
        finally:
            await store.close()

    spec = openapi(ENDPOINTS, "Journeyboard", VERSION)

    async def openapi_json(request: Request) -> Response:
        return json_response(spec)

    return Starlette(
        routes=[*routes(ENDPOINTS), Route("/openapi.json", openapi_json, methods=["GET"])],
        lifespan=lifespan,
        exception_handlers={
            ApiError: on_api_error,
            Rejected: on_rejected,
            HTTPException: on_http_error,
        },
    )

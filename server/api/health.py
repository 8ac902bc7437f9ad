"""Liveness and readiness, for load balancers and `make run` users alike."""

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from schemas.api import Health
from server.api.routing import Endpoint, json_response
from server.api.services import services
from server.store.mongo import StoreError


async def healthz(request: Request) -> Response:
    return json_response(Health(status="ok"))


async def readyz(request: Request) -> Response:
    try:
        await asyncio.wait_for(services(request).store.ping(), timeout=2)
    except (StoreError, TimeoutError):
        return json_response(Health(status="degraded"), 503)
    return json_response(Health(status="ok"))


ENDPOINTS = [
    Endpoint("GET", "/healthz", healthz, "The process is up", response=Health, public=True),
    Endpoint("GET", "/readyz", readyz, "The database answers", response=Health, public=True),
]

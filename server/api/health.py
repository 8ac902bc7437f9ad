"""Liveness and readiness, for load balancers and `make run` users alike."""

import asyncio
import time

from starlette.requests import Request
from starlette.responses import Response

from schemas.api import Health
from server.api.routing import Endpoint, json_response
from server.api.services import services
from server.metrics import STORE_RTT, STORE_UP
from server.store.mongo import Store, StoreError


async def healthz(request: Request) -> Response:
    return json_response(Health(status="ok"))


async def readyz(request: Request) -> Response:
    try:
        await asyncio.wait_for(services(request).store.ping(), timeout=2)
    except (StoreError, TimeoutError):
        return json_response(Health(status="degraded"), 503)
    return json_response(Health(status="ok"))


async def ping_store(store: Store, every: float = 5.0) -> None:
    """Measure the database's round trip now and then, so a slow or dead store shows."""
    while True:
        began = time.perf_counter()
        try:
            async with asyncio.timeout(every):
                await store.ping()
            STORE_RTT.observe(time.perf_counter() - began)
            STORE_UP.set(1)
        except (StoreError, TimeoutError):
            STORE_UP.set(0)
        await asyncio.sleep(every)


ENDPOINTS = [
    Endpoint("GET", "/healthz", healthz, "The process is up", response=Health, public=True),
    Endpoint("GET", "/readyz", readyz, "The database answers", response=Health, public=True),
]

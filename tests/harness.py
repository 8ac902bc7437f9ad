"""Real parts for tests: the app under uvicorn on a loopback port, on a real database."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from server.app import create_app
from server.settings import Settings


@dataclass
class RunningServer:
    url: str
    app: Starlette
    settings: Settings


@contextlib.asynccontextmanager
async def running_server(settings: Settings, mongodb_uri: str) -> AsyncIterator[RunningServer]:
    """Serve the app with uvicorn on 127.0.0.1 and a free port, in this event loop."""
    app = create_app(settings, mongodb_uri)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws_max_size=1024 * 1024))
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

"""Uvicorn as we run it: read deadlines, a cap on connections, and a shutdown that drains.

Uvicorn alone keeps a half-sent request open forever (its keep-alive timer only runs
between requests), lets websocket upgrades past `limit_concurrency`, and on shutdown
closes sockets with 1012 before the app hears of it. Each of those is fixed here, in
the two places uvicorn lets us plug in: the HTTP protocol class and `Server.shutdown`.
"""

import asyncio
import contextlib
import logging
import socket
import time
from typing import Any

import h11
import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

from server import logs
from server.settings import Settings

log = logging.getLogger("journeyboard.serving")
BUSY = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


class DeadlineH11(H11Protocol):
    """h11 with read deadlines: headers within `header_timeout`, no body gap over `body_timeout`.

    A connection over the total cap (`limit_concurrency`, websockets included) gets 503.
    """

    header_timeout = 10.0
    body_timeout = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        limit = self.limit_concurrency
        if limit is not None and len(self.connections) >= limit:
            log.warning("connection refused: %d connections open", len(self.connections))
            self.transport = transport  # connection_lost closes it again
            transport.write(BUSY)
            transport.close()
            return
        super().connection_made(transport)
        self._waiting_since = self._last_data = time.monotonic()
        self._watch = self.loop.call_later(1.0, self._check)

    def data_received(self, data: bytes) -> None:
        self._last_data = time.monotonic()
        super().data_received(data)

    def on_response_complete(self) -> None:
        self._waiting_since = time.monotonic()  # the next request's headers are due from now
        super().on_response_complete()

    def _check(self) -> None:
        """Close the connection if the request being read is overdue; else look again in 1 s."""
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return  # closed, or upgraded to a websocket, which has its own heartbeat
        now, state = time.monotonic(), self.conn.their_state
        overdue = (state is h11.IDLE and now - self._waiting_since > self.header_timeout) or (
            state is h11.SEND_BODY and now - self._last_data > self.body_timeout
        )
        if overdue:
            log.info("closed a connection that sent its request too slowly")
            self.transport.close()
            return
        self._watch = self.loop.call_later(1.0, self._check)


def protocol_for(settings: Settings) -> type[DeadlineH11]:
    """The HTTP protocol class with this server's deadlines."""
    return type(
        "DeadlineH11",
        (DeadlineH11,),
        {"header_timeout": settings.header_timeout, "body_timeout": settings.body_timeout},
    )


def server_config(app: Starlette, settings: Settings, **options: Any) -> uvicorn.Config:
    """Uvicorn's settings for our app, the same in `journeyboard serve`, tests and benchmarks.

    Frames over 1 MiB are refused (close 1009) and permessage-deflate is off, so no
    compressed frame can inflate into a memory bomb. The access log is ours
    (server/observe.py): uvicorn's prints query strings.
    """
    logs.keep_query_strings_out_of_uvicorn_logs()
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=protocol_for(settings),
        ws_max_size=settings.ws_max_frame_bytes,
        ws_per_message_deflate=False,
        ws_ping_interval=None,  # heartbeats are ours, at app level, the same under every --ws
        timeout_keep_alive=int(settings.keep_alive_timeout),
        limit_concurrency=settings.max_connections,
        proxy_headers=True,  # the client's address from X-Forwarded-For, for per-IP limits
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=1,  # after our drain: whatever is left is dropped
        access_log=False,
        log_config=None,
        **options,
    )


class Server(uvicorn.Server):
    """Uvicorn's server with a drain first: stop accepting, finish commits, close with 1001."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        drain = getattr(getattr(self.config.app, "state", None), "drain", None)
        if drain is not None:
            with contextlib.suppress(Exception):
                await drain()
        await super().shutdown(sockets)

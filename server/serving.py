"""Uvicorn as we run it: read deadlines, a cap on connections, and a shutdown that drains.

Uvicorn alone keeps a half-sent request open forever (its keep-alive timer only runs
between requests), lets websocket upgrades past `limit_concurrency`, on shutdown closes
sockets with 1012 before the app hears of it, and makes one system call per websocket
frame. Each of those is fixed here, in the three places uvicorn lets us plug in: the HTTP
and websocket protocol classes and `Server.shutdown`.
"""

import asyncio
import contextlib
import functools
import logging
import socket
import struct
import time
from typing import Any

import h11
import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

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
        self._watch: asyncio.TimerHandle | None = self.loop.call_later(1.0, self._check)

    def data_received(self, data: bytes) -> None:
        self._last_data = time.monotonic()
        super().data_received(data)

    def on_response_complete(self) -> None:
        self._waiting_since = time.monotonic()  # the next request's headers are due from now
        super().on_response_complete()

    def _check(self) -> None:
        """Close the connection if the request being read is overdue; else look again in 1 s."""
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            # Closed, or upgraded to a websocket, which has its own heartbeat. Drop the fired
            # timer: it points back here, a cycle only a rare full collection would free.
            self._watch = None
            return
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


SEND_NOW = "journeyboard.send_now"  # the scope extension: see CorkedWebSockets


class CorkedTransport(asyncio.Transport):
    """A transport that sends what a few event-loop turns wrote in one system call.

    A commit fans out several frames to each client: its broadcasts in one turn, its acks
    (future callbacks) in the next. Written one by one, the `send` call per frame was the
    server's largest single cost. Past `flush_at` bytes it writes at once, so the real
    transport's buffer limits still pause a fast writer.
    """

    __slots__ = ("_loop", "_pending", "_size", "_transport")
    flush_at = 64 * 1024

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport, self._loop = transport, loop
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self._loop.call_soon, self.flush)  # after the next turn too
        self._pending.append(bytes(data))
        self._size += len(data)
        if self._size >= self.flush_at:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._size = 0
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Drop the connection now: a reset, so nothing unsent waits in the kernel either."""
        self._pending.clear()
        sock = self._transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)


class CorkedWebSockets(WebSocketsSansIOProtocol):
    """Uvicorn's websocket protocol over a CorkedTransport, with a synchronous send.

    Through ASGI every frame is an awaited `send`; a session that waits for nothing needs
    a writer task woken per frame, which cost as much as the frame's system call. The app
    finds `send_now` in the scope's extensions (`SEND_NOW: {"send": ..., "abort": ...}`)
    and uses it while it can; `abort` drops a client that takes nothing, where closing
    would wait for it to read.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.transport = CorkedTransport(self.transport, self.loop)

    async def run_asgi(self) -> None:
        extensions = self.scope["extensions"]
        extensions[SEND_NOW] = {"send": self.send_now, "abort": self.transport.abort}
        try:
            await super().run_asgi()
        finally:  # the scope and this protocol would hold each other until a full collection
            del extensions[SEND_NOW]

    def send_now(self, text: str) -> bool:
        """Queue a text frame if the socket is open and takes more without waiting."""
        if self.close_sent or self.disconnected or not self.writable.is_set():
            return False
        if self.conn.state is not State.OPEN:
            return False
        self.transport.write(text_frame(text))
        return True


@functools.lru_cache(maxsize=1)
def text_frame(text: str) -> bytes:
    """A server's text frame: unmasked, whole, uncompressed (valid under any extension), so
    the same bytes for every client: a broadcast is framed once, not once per recipient."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


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
        ws=CorkedWebSockets,
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

"""The access log and request metrics, as one ASGI middleware.

Uvicorn's access log prints the raw request line, query string included; ours logs the
path alone, with the caller and board once they are known, so no secret can ride along.
"""

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.metrics import REQUEST_SECONDS, REQUESTS

log = logging.getLogger("journeyboard.access")


class Observe:
    """Log each HTTP request as one event and count it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._record(scope, status, time.perf_counter() - began)

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float) -> None:
        REQUESTS.labels(scope["method"], str(status)).inc()
        REQUEST_SECONDS.observe(seconds)
        principal = scope.get("state", {}).get("principal")
        fields = {
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "latency_ms": round(seconds * 1000, 2),
            "user": getattr(principal, "name", None),
            "board": scope.get("path_params", {}).get("board_id"),
        }
        log.info("%s %s %d", scope["method"], scope["path"], status, extra=fields)

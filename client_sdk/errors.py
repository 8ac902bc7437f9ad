"""Exceptions that mirror the API's error codes, so scripts can catch what they can handle.

try:
    client.create_element(board, node)
except Conflict:          # duplicate_id, conflict
    ...
except ValidationFailed as e:
    print(e.path)         # e.g. "$.ops[2].element.label"
"""

from typing import Any

import msgspec

from schemas.errors import ErrorResponse


class JourneyboardError(Exception):
    """Anything the API refused or could not do; `code` is the API's error code."""

    def __init__(
        self, code: str, message: str, status: int = 0, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}


class Unauthorized(JourneyboardError):
    """No valid token: set JOURNEYBOARD_TOKEN or pass token= (create one with
    `journeyboard token create NAME`)."""


class PermissionDenied(JourneyboardError):
    """Your role on the board is too low; `required_role` names the one needed."""

    @property
    def required_role(self) -> str | None:
        return self.details.get("required_role")


class NotFound(JourneyboardError):
    """No such board or element, or you are not a member of the board."""


class ValidationFailed(JourneyboardError):
    """A field has the wrong shape or refers to something missing; `path` names it."""

    @property
    def path(self) -> str | None:
        return self.details.get("path")


class Conflict(JourneyboardError):
    """The id is taken, or the change conflicts with the board as it is now."""


class TooLarge(JourneyboardError):
    """The request, element or board is over a limit; `details["limit"]` says which."""


class RateLimited(JourneyboardError):
    """Too many requests; `retry_after` is how many seconds the server asked to wait."""

    retry_after: float = 1.0


class ServerError(JourneyboardError):
    """The server failed or its database is unavailable; the request is safe to retry."""


class OfflineQueueFull(JourneyboardError):
    """A live board holds as many unanswered edits as it may (offline, or a slow server);
    nothing was queued or applied: wait for `synced()` and edit again."""


class ConnectionFailed(JourneyboardError):
    """The server could not be reached (after retries); check JOURNEYBOARD_URL."""


_BY_CODE: dict[str, type[JourneyboardError]] = {
    "unauthorized": Unauthorized,
    "forbidden": PermissionDenied,
    "not_found": NotFound,
    "unknown_element": NotFound,
    "invalid": ValidationFailed,
    "missing_reference": ValidationFailed,
    "board_limit": ValidationFailed,
    "bad_request": ValidationFailed,
    "duplicate_id": Conflict,
    "conflict": Conflict,
    "too_large": TooLarge,
    "rate_limited": RateLimited,
    "unavailable": ServerError,
    "internal": ServerError,
}
_decode = msgspec.json.Decoder(ErrorResponse).decode


def error_for(
    code: str, message: str, status: int = 0, details: dict[str, Any] | None = None
) -> JourneyboardError:
    """The exception for an error code (from a REST response or a websocket reject)."""
    kind = _BY_CODE.get(code, ServerError if status >= 500 else JourneyboardError)
    return kind(code, message, status, details)


def from_response(status: int, body: bytes, retry_after: str | None = None) -> JourneyboardError:
    """The exception for a non-2xx response, whatever its body holds."""
    try:
        error = _decode(body).error
        found = error_for(error.code, error.message, status, error.details)
    except msgspec.DecodeError:
        code = "internal" if status >= 500 else "bad_request"
        found = error_for(code, body[:200].decode(errors="replace") or f"HTTP {status}", status)
    if isinstance(found, RateLimited) and retry_after:
        try:
            found.retry_after = float(retry_after)
        except ValueError:
            pass
    return found

"""Error bodies and codes shared by REST responses, websocket messages and the SDK."""

from typing import Any, Literal

from msgspec import Struct

ErrorCode = Literal[
    "bad_request",
    "unauthorized",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "unknown_element",
    "duplicate_id",
    "conflict",
    "missing_reference",
    "invalid",
    "too_large",
    "board_limit",
    "rate_limited",
    "unavailable",
    "outcome_unknown",
    "idempotency_key_reused",
    "internal",
]

STATUS: dict[str, int] = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "unknown_element": 404,
    "duplicate_id": 409,
    "conflict": 409,
    "missing_reference": 422,
    "invalid": 422,
    "too_large": 413,
    "board_limit": 422,
    "rate_limited": 429,
    "unavailable": 503,
    "outcome_unknown": 503,
    "idempotency_key_reused": 409,
    "internal": 500,
}


class ErrorBody(Struct, kw_only=True):
    """What went wrong: a stable `code` to branch on, a sentence for people, and specifics.

    `details` may hold `path` (the bad field, e.g. `$.ops[2].element.label`), `op_index`,
    `element_id` or `limit`.
    """

    code: ErrorCode
    message: str
    details: dict[str, Any] = {}


class ErrorResponse(Struct, kw_only=True):
    """The body of every non-2xx REST response."""

    error: ErrorBody


class CloseCode:
    """Websocket close codes the server uses; 4xxx mirror the HTTP statuses they resemble."""

    NORMAL = 1000
    GOING_AWAY = 1001  # the server is shutting down: reconnect, ideally elsewhere
    UNSUPPORTED_DATA = 1003  # a binary frame
    POLICY = 1008  # too many connections, or sustained flooding
    TOO_BIG = 1009  # a frame over 1 MiB
    INTERNAL = 1011  # the board failed on the server; reconnect
    TRY_AGAIN = 1013  # the database is unavailable; reconnect later
    BAD_REQUEST = 4400  # the handshake's query is invalid (e.g. `since` not a number)
    SLOW_CONSUMER = 4008  # more than 1,000 messages or 1 MiB behind: reconnect and resume
    UNAUTHORIZED = 4401  # no valid credentials (in time)
    FORBIDDEN = 4403  # removed from the board while connected
    NOT_FOUND = 4404  # no such board, or not a member
    TIMEOUT = 4408  # no message within the heartbeat timeout
    GONE = 4410  # the board was deleted
    RATE_LIMITED = 4429  # over the op rate for more than 10 seconds

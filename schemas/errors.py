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

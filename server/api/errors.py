"""One error shape for every failure, and the decoding that produces most of them."""

import logging
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from schemas.errors import STATUS, ErrorBody, ErrorCode, ErrorResponse
from server.board import Rejected
from server.board.apply import invalid
from server.metrics import ERRORS

T = TypeVar("T")
log = logging.getLogger("journeyboard")
_encode = msgspec.json.encode


class ApiError(Exception):
    """A failure the client can act on; rendered as {"error": {code, message, details}}."""

    def __init__(
        self, code: ErrorCode, message: str, headers: dict[str, str] | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.body = ErrorBody(code=code, message=message, details=details)
        self.status = STATUS[code]
        self.headers = headers


def error_response(body: ErrorBody, status: int, headers: dict[str, str] | None = None) -> Response:
    ERRORS.labels(body.code).inc()
    return Response(
        _encode(ErrorResponse(error=body)), status, headers, media_type="application/json"
    )


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.body, exc.status, exc.headers)


async def on_rejected(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Rejected)
    return error_response(exc.body(), STATUS[exc.code])


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes: dict[int, ErrorCode] = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
    code = codes.get(exc.status_code, "bad_request")
    body = ErrorBody(code=code, message=str(exc.detail))
    return error_response(body, exc.status_code, dict(exc.headers or {}))


async def on_store_error(request: Request, exc: Exception) -> Response:
    """The database did not answer in time: 503, so clients retry (idempotent calls are safe)."""
    log.warning("%s %s: database error %s", request.method, request.url.path, type(exc).__name__)
    body = ErrorBody(code="unavailable", message="the database is not answering; retry shortly")
    return error_response(body, STATUS["unavailable"], {"Retry-After": "1"})


def decode(data: bytes, type_: type[T], path: str = "$") -> T:
    """Decode JSON strictly: 400 if it is not JSON, 422 naming the field of the wrong shape."""
    try:
        return msgspec.json.decode(data, type=type_)
    except msgspec.ValidationError as error:
        raise _invalid(error, path) from None
    except (msgspec.DecodeError, RecursionError) as error:
        raise ApiError("bad_request", f"the body is not valid JSON: {error}") from None


def convert(data: dict[str, Any], type_: type[T]) -> T:
    """Convert query parameters (strings) into a typed struct, 422 naming the bad one."""
    try:
        return msgspec.convert(data, type_, strict=False)
    except msgspec.ValidationError as error:
        raise _invalid(error, "$") from None


def _invalid(error: msgspec.ValidationError, path: str) -> ApiError:
    rejected = invalid(error, path)
    return ApiError("invalid", rejected.message, **rejected.details)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    too_large = f"the body is larger than {limit} bytes"
    return b"".join([chunk async for chunk in body_chunks(request, limit, too_large)])


def body_chunks(request: Request, limit: int, too_large: str) -> AsyncIterator[bytes]:
    """The body as it arrives, refused with 413 (`too_large` says why) once past `limit`:
    here and now when Content-Length declares more, else after the bytes up to the
    limit, so a reader that streams keeps what it has."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError("too_large", too_large, limit=limit)
    return _up_to(request.stream(), limit, too_large)


async def _up_to(chunks: AsyncIterator[bytes], limit: int, too_large: str) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            yield chunk[: len(chunk) - (size - limit)]
            raise ApiError("too_large", too_large, limit=limit)
        yield chunk


async def on_outcome_unknown(request: Request, exc: Exception) -> Response:
    """A commit the database did not confirm in time: 503, and retrying with the same
    idempotency key is safe (it applies once)."""
    body = ErrorBody(code="outcome_unknown", message=str(exc))
    return error_response(body, STATUS["outcome_unknown"], {"Retry-After": "1"})

"""Endpoints described once: the same table makes the Starlette routes and /openapi.json."""

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from schemas.auth import UserName
from schemas.board import Id
from schemas.errors import ErrorResponse

Handler = Callable[[Request], Awaitable[Response]]
_PARAM = re.compile(r"{(\w+)}")
_PARAM_SCHEMAS = {
    "user": msgspec.json.schema(UserName),
    "token_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
}
_ID_SCHEMA = msgspec.json.schema(Id)
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "An API token: jb_<id>_<secret>"},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "jb_session",
        "description": "Set by POST /api/login; writes also need the X-CSRF-Token header.",
    },
}
_REASONS = {
    400: "Malformed request",
    401: "Not authenticated",
    403: "Role too low",
    404: "Unknown board or element",
    409: "Conflict",
    413: "Too large",
    422: "Invalid field (details.path names it)",
    429: "Too many requests",
    503: "Database unavailable",
}


class Endpoint(NamedTuple):
    """One REST operation: how to serve it and how to document it."""

    method: str
    path: str
    handler: Handler
    summary: str
    status: int = 200
    body: Any = None
    response: Any = None
    query: Any = None
    public: bool = False
    upload: Any = None  # a record type: the body is a stream of them (JSON array, NDJSON, CSV)


def json_response(value: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status, media_type="application/json")


def routes(endpoints: Sequence[Endpoint]) -> list[Route]:
    """One route per path, so a 405 lists every method the path supports in `Allow`."""
    by_path: dict[str, dict[str, Handler]] = {}
    for e in endpoints:
        by_path.setdefault(e.path, {})[e.method] = e.handler
    return [
        Route(path, _dispatch(handlers), methods=list(handlers))
        for path, handlers in by_path.items()
    ]


def _dispatch(handlers: dict[str, Handler]) -> Handler:
    async def endpoint(request: Request) -> Response:
        return await handlers["GET" if request.method == "HEAD" else request.method](request)

    return endpoint


def openapi(endpoints: Sequence[Endpoint], title: str, version: str) -> dict[str, Any]:
    """An OpenAPI 3.1 document whose schemas come from the same msgspec types the routes use."""
    types = {t for e in endpoints for t in (e.body, e.response, e.upload) if t is not None}
    types.add(ErrorResponse)
    ordered = sorted(types, key=repr)
    refs, components = msgspec.json.schema_components(
        ordered, ref_template="#/components/schemas/{name}"
    )
    ref_of = dict(zip(ordered, refs, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e, ref_of)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
    }


def _operation(e: Endpoint, ref_of: dict[Any, Any]) -> dict[str, Any]:
    path_params = _PARAM.findall(e.path)
    parameters = [
        {"name": n, "in": "path", "required": True, "schema": _PARAM_SCHEMAS.get(n, _ID_SCHEMA)}
        for n in path_params
    ]
    if e.query is not None:
        parameters += [
            {
                "name": f.name,
                "in": "query",
                "required": f.required,
                "schema": msgspec.json.schema(f.type),
            }
            for f in msgspec.structs.fields(e.query)
        ]
    success: dict[str, Any] = {"description": e.summary}
    if e.response is not None:
        success["content"] = {"application/json": {"schema": ref_of[e.response]}}
    errors = {400, 429, 503} | ({404} if path_params else set())
    if not e.public:
        errors |= {401, 403}
    if e.body is not None or e.query is not None:
        errors |= {413, 422} if e.body is not None else {422}
    if e.body is not None or e.upload is not None:
        errors.add(401)
    if e.upload is not None:
        errors.add(413)
    if e.method != "GET":
        errors.add(409)
    error = {"content": {"application/json": {"schema": ref_of[ErrorResponse]}}}
    operation: dict[str, Any] = {
        "summary": e.summary,
        "operationId": e.handler.__name__,
        "parameters": parameters,
        "security": [] if e.public else [{"bearer": []}, {"session": []}],
        "responses": {str(e.status): success}
        | {str(s): {"description": _REASONS[s], **error} for s in sorted(errors)},
    }
    if e.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref_of[e.body]}},
        }
    if e.upload is not None:
        operation["requestBody"] = _upload_body(ref_of[e.upload])
    return operation


def _upload_body(record: dict[str, Any]) -> dict[str, Any]:
    """Records are checked one by one (a bad one is reported, not fatal), so any item goes."""
    each = f"each item a record as in {record['$ref']}"
    return {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "description": each}},
            "application/x-ndjson": {"schema": record},
            "text/csv": {"schema": {"type": "string", "description": "a header row of fields"}},
        },
    }

"""Feedback and journey-event uploads: JSON arrays, NDJSON or CSV, streamed, any size."""

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from schemas.evidence import (
    RECORD_FIELDS,
    EvidenceKind,
    Feedback,
    IngestReport,
    JourneyEvent,
)
from server.api.boards import open_board
from server.api.errors import ApiError, body_chunks
from server.api.routing import Endpoint, json_response
from server.api.services import services
from server.clock import now_ms
from server.evidence.formats import UnsupportedUpload, reader_for
from server.evidence.ingest import ingest
from server.evidence.records import Document, Targets, event_document, feedback_document
from server.metrics import IMPORTS

MAX_RECORD_BYTES = 64 * 1024
T = TypeVar("T")


async def post_feedback(request: Request) -> Response:
    at = now_ms()
    return await _upload(
        request,
        "feedback",
        lambda board, targets, raw: feedback_document(board, _lenient(raw, Feedback), targets, at),
    )


async def post_events(request: Request) -> Response:
    return await _upload(
        request,
        "events",
        lambda board, targets, raw: event_document(board, _lenient(raw, JourneyEvent), targets),
    )


async def _upload(
    request: Request, kind: EvidenceKind, document: Callable[[str, Targets, Any], Document]
) -> Response:
    """Stream the upload into the store; records name the board as it is now."""
    board = await open_board(request, "editor")
    found = services(request)
    limit = found.settings.max_upload_bytes
    chunks = body_chunks(
        request,
        limit,
        f"uploads stop at {limit} bytes: split the file and send the rest "
        "(re-sent records are skipped)",
    )
    try:
        fields = RECORD_FIELDS[kind]
        read = reader_for(request.headers.get("content-type", ""), MAX_RECORD_BYTES, fields)
    except UnsupportedUpload as error:
        raise ApiError("bad_request", str(error)) from None
    state, _ = await board.handle.read()
    targets = Targets(state.elements.values())
    into = getattr(found.evidence, kind)

    async def store(docs: list[Document]) -> int:
        duplicates = await found.evidence.insert(into, docs)
        found.feed.stored(board.record.id, kind, docs)
        return duplicates

    try:
        with IMPORTS.track_inprogress():
            report = await ingest(
                read(chunks), lambda raw: document(board.record.id, targets, raw), store
            )
    except UnsupportedUpload as error:
        raise ApiError("bad_request", str(error)) from None
    return json_response(report)


def _lenient(raw: Any, kind: type[T]) -> T:
    """A record from JSON or a CSV row: numbers may be strings, a date may lack its time,
    and a time may be seconds since the epoch."""
    if isinstance(raw, dict):
        at = raw.get("at")
        if isinstance(at, str) and at.isdigit() and len(at) >= 9:  # not a compact date
            raw = {**raw, "at": int(at)}
        elif isinstance(at, str) and len(at) == 10:
            raw = {**raw, "at": at + "T00:00:00"}
    return msgspec.convert(raw, kind, strict=False)


UPLOAD = (
    "Upload {} as a JSON array, NDJSON (application/x-ndjson) or CSV (text/csv, a header "
    "row of field names); bad records are reported by line and do not stop the rest"
)
ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/boards/{board_id}/feedback",
        post_feedback,
        UPLOAD.format("feedback (surveys, reviews, social, support)"),
        response=IngestReport,
        upload=Feedback,
    ),
    Endpoint(
        "POST",
        "/api/boards/{board_id}/events",
        post_events,
        UPLOAD.format("journey events (a customer passed a touchpoint; value = purchase)"),
        response=IngestReport,
        upload=JourneyEvent,
    ),
]

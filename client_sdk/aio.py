"""The asynchronous client: every REST call of the API as a typed method.

    async with AsyncJourneyboardClient() as jb:          # JOURNEYBOARD_URL, JOURNEYBOARD_TOKEN
        board = await jb.create_board("Onboarding", template="customer-journey")
        async for info in jb.iter_boards(tag="q3"):
            ...

`JourneyboardClient` (client_sdk/sync.py) has the same methods for code without asyncio.
"""

import asyncio
import itertools
import os
import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar, Unpack

import httpx
import msgspec

from client_sdk.errors import ConnectionFailed, RateLimited, Unauthorized, from_response
from client_sdk.export import FORMATS, render
from client_sdk.importing import ImportOptions, Source, upload_chunks
from client_sdk.live import MAX_PENDING_OPS, LiveBoard
from client_sdk.retries import Retries
from schemas.api import (
    BoardInfo,
    BoardPage,
    CreateBoard,
    Idempotency,
    OpsRequest,
    OpsResult,
    Snapshot,
    Template,
)
from schemas.auth import Me, MemberList, Role, SetRole
from schemas.board import AnyElement, Comment, Stakeholder
from schemas.evidence import EvidenceKind, IngestReport
from schemas.insights import (
    EmotionCurve,
    MomentsOfTruth,
    PainPoints,
    Paths,
    Repurchase,
    StakeholderGrid,
    SupportKpis,
)
from schemas.ops import BoardChanges, BoardOp, ElementChanges

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8000"
_encode = msgspec.json.Encoder().encode


class AsyncJourneyboardClient:
    """One API base URL and token; use as an async context manager, or call `close()`.

    `client_id` names this client's op submissions so that a retried batch is applied
    once; it is random unless you pass one.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retries: Retries | None = None,
        client_id: str | None = None,
    ) -> None:
        self.url = (url or os.environ.get("JOURNEYBOARD_URL") or DEFAULT_URL).rstrip("/")
        self.token = token or os.environ.get("JOURNEYBOARD_TOKEN", "")
        if not self.token:
            raise Unauthorized(
                "unauthorized",
                "no API token: pass token= or set JOURNEYBOARD_TOKEN "
                "(create one with `journeyboard token create NAME`)",
            )
        self.retries = retries or Retries()
        self.client_id = client_id or f"sdk-{secrets.token_hex(6)}"
        self._op_ids = itertools.count(secrets.randbelow(2**52))  # never reused across runs
        self._http = httpx.AsyncClient(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.token}", "User-Agent": "journeyboard-sdk"},
            timeout=timeout,
        )

    async def __aenter__(self) -> "AsyncJourneyboardClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        into: type[T] | None = None,
        *,
        body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> T:
        """One API call with retries; returns the decoded body (None for 204)."""
        if body is not None:
            content, headers = (
                _encode(body),
                {"Content-Type": "application/json", **(headers or {})},
            )
        safe = method in ("GET", "PUT", "DELETE") if idempotent is None else idempotent
        query = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in itertools.count():
            try:
                response = await self._http.request(
                    method, path, content=content, headers=headers, params=query
                )
            except httpx.TransportError as error:
                if not self.retries.should_retry(attempt, None, safe):
                    raise ConnectionFailed(
                        "unreachable", f"{self.url}: {error or type(error).__name__}"
                    ) from error
                await asyncio.sleep(self.retries.delay(attempt))
                continue
            if response.status_code < 400:
                if into is None or response.status_code == 204:
                    return None  # type: ignore[return-value]
                return msgspec.json.decode(response.content, type=into)
            refused = from_response(
                response.status_code, response.content, response.headers.get("retry-after")
            )
            if not self.retries.should_retry(attempt, response.status_code, safe):
                raise refused
            wait = refused.retry_after if isinstance(refused, RateLimited) else None
            await asyncio.sleep(self.retries.delay(attempt, wait))
        raise AssertionError("unreachable")

    # Who you are

    async def me(self) -> Me:
        return await self._call("GET", "/api/me", Me)

    # Boards

    async def list_boards(
        self,
        *,
        tag: str | None = None,
        search: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> BoardPage:
        params = {"tag": tag, "q": search, "cursor": cursor, "limit": limit}
        return await self._call("GET", "/api/boards", BoardPage, params=params)

    async def iter_boards(
        self, *, tag: str | None = None, search: str | None = None, page_size: int = 100
    ) -> AsyncIterator[BoardInfo]:
        """Every board you can see, newest first, fetched a page at a time."""
        cursor: str | None = None
        while True:
            page = await self.list_boards(tag=tag, search=search, cursor=cursor, limit=page_size)
            for board in page.items:
                yield board
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def create_board(
        self,
        title: str,
        *,
        description: str = "",
        tags: Sequence[str] = (),
        template: Template | None = None,
    ) -> BoardInfo:
        body = CreateBoard(
            title=title, description=description, tags=tuple(tags), template=template
        )
        return await self._call("POST", "/api/boards", BoardInfo, body=body)

    async def get_board(self, board_id: str) -> BoardInfo:
        return await self._call("GET", f"/api/boards/{board_id}", BoardInfo)

    async def update_board(
        self,
        board_id: str,
        *,
        title: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> BoardInfo:
        given = {"title": title, "description": description, "tags": tags}
        changes = msgspec.convert({k: v for k, v in given.items() if v is not None}, BoardChanges)
        return await self._call(
            "PATCH", f"/api/boards/{board_id}", BoardInfo, body=changes, idempotent=True
        )

    async def delete_board(self, board_id: str) -> None:
        await self._call("DELETE", f"/api/boards/{board_id}")

    async def snapshot(self, board_id: str) -> Snapshot:
        """The whole board: every element and the seq it is current as of."""
        return await self._call("GET", f"/api/boards/{board_id}/snapshot", Snapshot)

    # Ops and elements

    async def apply_ops(self, board_id: str, ops: Iterable[BoardOp]) -> OpsResult:
        """Apply a batch all or nothing; safe to retry: the same batch is applied once."""
        key = Idempotency(client_id=self.client_id, client_op_id=next(self._op_ids))
        body = OpsRequest(ops=list(ops), idempotency=key)
        return await self._call(
            "POST", f"/api/boards/{board_id}/ops", OpsResult, body=body, idempotent=True
        )

    async def create_element(self, board_id: str, element: T) -> T:
        path = f"/api/boards/{board_id}/elements"
        return await self._call("POST", path, type(element), body=element)

    async def get_element(self, board_id: str, element_id: str) -> AnyElement:
        path = f"/api/boards/{board_id}/elements/{element_id}"
        return await self._call("GET", path, AnyElement)  # type: ignore[arg-type]

    async def update_element(
        self,
        board_id: str,
        element_id: str,
        set: dict[str, Any] | None = None,
        unset: Sequence[str] = (),
    ) -> AnyElement:
        """Set some properties (e.g. {"label": "Pay"}) and reset others to their defaults."""
        path = f"/api/boards/{board_id}/elements/{element_id}"
        changes = msgspec.convert({"set": set or {}, "unset": list(unset)}, ElementChanges)
        return await self._call(
            "PATCH",
            path,
            AnyElement,  # type: ignore[arg-type]
            body=changes,
            idempotent=True,
        )

    async def delete_element(self, board_id: str, element_id: str) -> None:
        await self._call("DELETE", f"/api/boards/{board_id}/elements/{element_id}")

    async def stakeholders(self, board_id: str) -> list[Stakeholder]:
        snapshot = await self.snapshot(board_id)
        return [e for e in snapshot.elements if isinstance(e, Stakeholder)]

    async def comments(self, board_id: str, target: str | None = None) -> list[Comment]:
        """Comments on the board, or only those on `target`, oldest first."""
        snapshot = await self.snapshot(board_id)
        found = [
            e
            for e in snapshot.elements
            if isinstance(e, Comment) and (target is None or e.target == target)
        ]
        return sorted(found, key=lambda c: c.created_at)

    async def add_comment(
        self,
        board_id: str,
        text: str,
        *,
        target: str | None = None,
        parent: str | None = None,
        comment_id: str | None = None,
    ) -> Comment:
        comment = Comment(
            id=comment_id or f"c-{secrets.token_hex(6)}", text=text, target=target, parent=parent
        )
        return await self.create_element(board_id, comment)

    # Members

    async def members(self, board_id: str) -> MemberList:
        return await self._call("GET", f"/api/boards/{board_id}/members", MemberList)

    async def set_member(self, board_id: str, user: str, role: Role) -> None:
        path = f"/api/boards/{board_id}/members/{user}"
        await self._call("PUT", path, body=SetRole(role=role))

    async def remove_member(self, board_id: str, user: str) -> None:
        await self._call("DELETE", f"/api/boards/{board_id}/members/{user}")

    # Evidence

    async def import_feedback(
        self, board_id: str, source: Source, **options: Unpack[ImportOptions]
    ) -> IngestReport:
        """Stream feedback from a file path (CSV, NDJSON, JSON), rows or a DataFrame.

        `mapping` maps record fields to your column names ({"score": "Rating"}), and
        `defaults` fills fields every row shares ({"source": "survey", "scale": "nps"}).
        Importing the same rows again adds nothing.
        """
        return await self.import_records(board_id, "feedback", source, **options)

    async def import_events(
        self, board_id: str, source: Source, **options: Unpack[ImportOptions]
    ) -> IngestReport:
        """Stream journey events (customer, touchpoint, at, value) like `import_feedback`."""
        return await self.import_records(board_id, "events", source, **options)

    async def import_records(
        self, board_id: str, kind: EvidenceKind, source: Source, **options: Unpack[ImportOptions]
    ) -> IngestReport:
        return await upload_chunks(
            lambda body: self._upload(board_id, kind, body), kind, source, **options
        )

    async def _upload(self, board_id: str, kind: str, ndjson: bytes) -> IngestReport:
        return await self._call(
            "POST",
            f"/api/boards/{board_id}/{kind}",
            IngestReport,
            content=ndjson,
            headers={"Content-Type": "application/x-ndjson"},
            idempotent=True,
        )

    # Insight

    async def emotion_curve(self, board_id: str) -> EmotionCurve:
        """Mean score (0-100) with a 95% interval, sentiment and NPS per stage and touchpoint."""
        return await self._insight(board_id, "emotion", EmotionCurve)

    async def pain_points(self, board_id: str, limit: int = 10) -> PainPoints:
        return await self._insight(board_id, "pain-points", PainPoints, limit=limit)

    async def moments_of_truth(self, board_id: str, min_customers: int = 20) -> MomentsOfTruth:
        return await self._insight(
            board_id, "moments-of-truth", MomentsOfTruth, min_customers=min_customers
        )

    async def paths(self, board_id: str, limit: int = 10) -> Paths:
        return await self._insight(board_id, "paths", Paths, limit=limit)

    async def repurchase(
        self, board_id: str, as_of: int | None = None, limit: int = 10
    ) -> Repurchase:
        """Intervals and overdue customers as of `as_of` (ms since the epoch; default now)."""
        return await self._insight(board_id, "repurchase", Repurchase, as_of=as_of, limit=limit)

    async def support_kpis(self, board_id: str) -> SupportKpis:
        return await self._insight(board_id, "support", SupportKpis)

    async def stakeholder_grid(self, board_id: str) -> StakeholderGrid:
        return await self._insight(board_id, "stakeholders", StakeholderGrid)

    async def _insight(self, board_id: str, kind: str, into: type[T], **params: Any) -> T:
        return await self._call(
            "GET", f"/api/boards/{board_id}/insights/{kind}", into, params=params
        )

    # Live

    def live(
        self, board_id: str, client_id: str | None = None, max_pending: int = MAX_PENDING_OPS
    ) -> LiveBoard:
        """A live replica of the board: `async with client.live(board_id) as board:`."""
        client = client_id or self.client_id
        return LiveBoard(self.url, self.token, board_id, client, max_pending=max_pending)

    # Export

    async def export(self, board_id: str, format: str = "json") -> str:
        """The board as text: one of FORMATS (json, csv of elements, mermaid flowchart)."""
        if format not in FORMATS:
            raise ValueError(f"unknown export format {format!r}; choose from {', '.join(FORMATS)}")
        return render(await self.snapshot(board_id), format)

    async def export_to(self, board_id: str, path: Path, format: str | None = None) -> Path:
        """Write the export to `path`; the format defaults to the file's extension."""
        chosen = format or {".md": "mermaid", ".mmd": "mermaid"}.get(path.suffix, path.suffix[1:])
        await asyncio.to_thread(path.write_text, await self.export(board_id, chosen or "json"))
        return path

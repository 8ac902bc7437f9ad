"""Board routes: create, list, read, change, delete, snapshot, ops and element shortcuts."""

from typing import Annotated

import msgspec
from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import Response

from schemas.api import (
    BoardInfo,
    BoardListItem,
    BoardPage,
    CreateBoard,
    OpsRequest,
    OpsResult,
    Snapshot,
)
from schemas.auth import Role
from schemas.board import AnyElement, Id, Tag
from schemas.ops import BoardChanges, BoardOp, Create, Delete, ElementChanges, Update, UpdateBoard
from server.api.access import board_access, principal
from server.api.errors import ApiError, convert, decode
from server.api.routing import Endpoint, json_response
from server.api.services import body_of, new_board_id, services
from server.board.templates import template_ops
from server.clock import now_ms
from server.store.mongo import BoardRecord
from server.sync.handle import BoardHandle, open_handle
from server.sync.results import Committed
from server.sync.room import board_info


class ListQuery(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Filters for GET /api/boards."""

    tag: Tag | None = None
    q: Annotated[str, Meta(max_length=100)] | None = None
    cursor: Id | None = None
    limit: Annotated[int, Meta(ge=1, le=100)] = 50


class Opened(msgspec.Struct, frozen=True):
    """A board the caller may use, with its handle and the caller's name and role."""

    user: str
    role: Role
    record: BoardRecord
    handle: BoardHandle

    async def commit(self, ops: list[BoardOp], client: tuple[str, int] | None = None) -> Committed:
        return await self.handle.submit(ops, self.user, self.role, client)


async def open_board(request: Request, required: Role = "viewer") -> Opened:
    """The board if the caller's role is at least `required` (viewer: may see it); the core
    then checks each op against their role."""
    who, record, role = await board_access(request, required)
    return Opened(who.name, role, record, await open_handle(services(request).rooms, record))


async def create_board(request: Request) -> Response:
    who = await principal(request)
    body = decode(await body_of(request), CreateBoard)
    at = now_ms()
    record = BoardRecord(
        id=new_board_id(at),
        title=body.title,
        description=body.description,
        tags=list(body.tags),
        owner=who.name,
        template=body.template,
        created_at=at,
        updated_at=at,
    )
    await services(request).store.insert_board(record)
    await services(request).accounts.set_role(record.id, who.name, "owner")
    board = Opened(who.name, "owner", record, await open_handle(services(request).rooms, record))
    seed = UpdateBoard(title=body.title, description=body.description, tags=body.tags)
    seeded = await board.commit([seed, *template_ops(body.template)])
    record = msgspec.structs.replace(record, updated_at=seeded.at)
    return json_response(board_info(record, board.handle.state), 201)


async def list_boards(request: Request) -> Response:
    who = await principal(request)
    query = convert(dict(request.query_params), ListQuery)
    limit = min(query.limit, services(request).settings.max_page_size)
    roles = await services(request).accounts.roles_of(who.name)
    records = await services(request).store.list_boards(
        tag=query.tag,
        search=query.q,
        before=query.cursor,
        limit=limit + 1,
        among=None if who.admin else list(roles),
    )
    more = len(records) > limit
    items = [
        BoardListItem(
            **msgspec.structs.asdict(board_info(r)),
            role="owner" if who.admin else roles[r.id],
        )
        for r in records[:limit]
    ]
    return json_response(BoardPage(items=items, next_cursor=items[-1].id if more else None))


async def get_board(request: Request) -> Response:
    _, record, _ = await board_access(request, "viewer")
    return json_response(board_info(record))


async def patch_board(request: Request) -> Response:
    board = await open_board(request)
    changes = decode(await body_of(request), BoardChanges)
    await board.commit([UpdateBoard(**msgspec.structs.asdict(changes))])
    return json_response(board_info(board.record, board.handle.state))


async def delete_board(request: Request) -> Response:
    _, record, _ = await board_access(request, "owner")
    await services(request).store.delete_board(record.id)
    await services(request).accounts.forget_board(record.id)
    await services(request).evidence.forget_board(record.id)
    services(request).rooms.forget(record.id)
    return Response(status_code=204)


async def get_snapshot(request: Request) -> Response:
    board = await open_board(request)
    state, seq = await board.handle.read()
    elements = list(state.elements.values())
    return json_response(
        Snapshot(board=board_info(board.record, state), seq=seq, elements=elements)
    )


async def post_ops(request: Request) -> Response:
    board = await open_board(request)
    body = decode(await body_of(request), OpsRequest)
    key = body.idempotency
    committed = await board.commit(body.ops, (key.client_id, key.client_op_id) if key else None)
    if committed.duplicate:
        _check_replay(committed, body.ops)
    result = OpsResult(
        seq=committed.seq,
        applied=len(committed.ops or body.ops),
        duplicate=committed.duplicate,
        effects=committed.effects,
        replay=committed.duplicate,
    )
    return json_response(result)


def _check_replay(original: Committed, ops: list[BoardOp]) -> None:
    """A replay answers a retry of the same call; a key reused for anything else is a 409."""
    if original.via not in ("rest", ""):  # "": logged before protocol 2, cannot tell
        raise ApiError(
            "idempotency_key_reused",
            f"this key was first used by a websocket submission, committed at seq {original.seq}",
            seq=original.seq,
            via=original.via or "unknown",
        )
    if list(original.ops) != ops:
        raise ApiError(
            "idempotency_key_reused",
            f"this key was first used for other ops, committed at seq {original.seq}",
            seq=original.seq,
        )


async def create_element(request: Request) -> Response:
    board = await open_board(request)
    element: AnyElement = decode(await body_of(request), AnyElement)  # type: ignore[arg-type]
    await board.commit([Create(element=element)])
    return json_response(board.handle.state.elements[element.id], 201)


async def get_element(request: Request) -> Response:
    board = await open_board(request)
    return json_response(_element(board.handle, request.path_params["element_id"]))


async def patch_element(request: Request) -> Response:
    board = await open_board(request)
    element = _element(board.handle, request.path_params["element_id"])
    changes = decode(await body_of(request), ElementChanges)
    await board.commit([Update(id=element.id, set=changes.set, unset=changes.unset)])
    return json_response(board.handle.state.elements[element.id])


async def delete_element(request: Request) -> Response:
    board = await open_board(request)
    await board.commit([Delete(id=_element(board.handle, request.path_params["element_id"]).id)])
    return Response(status_code=204)


def _element(board: BoardHandle, element_id: str) -> AnyElement:
    element = board.state.elements.get(element_id)
    if element is None:
        raise ApiError(
            "unknown_element", f"no element {element_id!r} on this board", element_id=element_id
        )
    return element


BOARD = "/api/boards/{board_id}"
ELEMENT = BOARD + "/elements/{element_id}"
ENDPOINTS = [
    Endpoint("POST", "/api/boards", create_board, "Create a board", 201, CreateBoard, BoardInfo),
    Endpoint(
        "GET",
        "/api/boards",
        list_boards,
        "List your boards, newest first",
        response=BoardPage,
        query=ListQuery,
    ),
    Endpoint("GET", BOARD, get_board, "Read a board's summary", response=BoardInfo),
    Endpoint(
        "PATCH",
        BOARD,
        patch_board,
        "Change title, description or tags",
        body=BoardChanges,
        response=BoardInfo,
    ),
    Endpoint("DELETE", BOARD, delete_board, "Delete a board and its history (owner)", 204),
    Endpoint(
        "GET", BOARD + "/snapshot", get_snapshot, "The whole board with its seq", response=Snapshot
    ),
    Endpoint(
        "POST",
        BOARD + "/ops",
        post_ops,
        "Apply a batch of ops, all or nothing",
        body=OpsRequest,
        response=OpsResult,
    ),
    Endpoint(
        "POST", BOARD + "/elements", create_element, "Add one element", 201, AnyElement, AnyElement
    ),
    Endpoint("GET", ELEMENT, get_element, "Read one element", response=AnyElement),
    Endpoint(
        "PATCH",
        ELEMENT,
        patch_element,
        "Set or reset properties of one element",
        body=ElementChanges,
        response=AnyElement,
    ),
    Endpoint("DELETE", ELEMENT, delete_element, "Delete one element and what hangs on it", 204),
]

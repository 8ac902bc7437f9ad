"""What a request handler needs from the app, found on `request.app.state`."""

import re
import secrets

import msgspec
from starlette.requests import HTTPConnection, Request

from server.api.errors import ApiError, read_body
from server.settings import Settings
from server.store.accounts import Accounts
from server.store.mongo import BoardRecord, Store
from server.sync.room import Rooms

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Services(msgspec.Struct, frozen=True, kw_only=True):
    """The long-lived parts of a running server."""

    settings: Settings
    store: Store
    accounts: Accounts
    rooms: Rooms


def services(conn: HTTPConnection) -> Services:
    found: Services = conn.app.state.services
    return found


async def body_of(request: Request) -> bytes:
    return await read_body(request, services(request).settings.max_body_bytes)


def new_board_id(now_ms: int) -> str:
    """Time-ordered ids, so listing newest-first pages by id."""
    return f"{now_ms:011x}{secrets.token_hex(5)}"


async def board_record(request: Request) -> BoardRecord:
    board_id = request.path_params["board_id"]
    record = await services(request).store.get_board(board_id) if _ID.match(board_id) else None
    if record is None:
        raise ApiError("not_found", f"no board {board_id!r}", board_id=board_id)
    return record

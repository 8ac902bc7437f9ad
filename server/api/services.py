"""What a request handler needs from the app, found on `request.app.state`."""

import re
import secrets

import msgspec
from starlette.requests import HTTPConnection, Request

from server.api.errors import read_body
from server.settings import Settings
from server.store.accounts import Accounts
from server.store.evidence import Evidence
from server.store.mongo import BoardRecord, Store
from server.sync.bus import Signals
from server.sync.insight_feed import InsightFeed
from server.sync.room import Rooms

VALID_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Services(msgspec.Struct, frozen=True, kw_only=True):
    """The long-lived parts of a running server."""

    settings: Settings
    store: Store
    accounts: Accounts
    evidence: Evidence
    rooms: Rooms
    feed: InsightFeed
    signals: Signals


def services(conn: HTTPConnection) -> Services:
    found: Services = conn.app.state.services
    return found


async def body_of(request: Request) -> bytes:
    return await read_body(request, services(request).settings.max_body_bytes)


def new_board_id(now_ms: int) -> str:
    """Time-ordered ids, so listing newest-first pages by id."""
    return f"{now_ms:011x}{secrets.token_hex(5)}"


async def find_board(conn: HTTPConnection) -> BoardRecord | None:
    """The board named in the path, if the id is well formed and the board exists."""
    board_id = conn.path_params["board_id"]
    return await services(conn).store.get_board(board_id) if VALID_ID.match(board_id) else None

"""The websocket endpoint: check who is connecting and from where, then hand over to the room.

Credentials: `Authorization: Bearer` on the handshake (scripts, SDK), the session cookie
(browsers, only with an allowed Origin), or an `auth` message as the first frame. Never a
token in the URL. A token is not ambient (a page on another site cannot send it for you), so
it is accepted from any Origin; the cookie is, so a foreign Origin's cookie is ignored: that
is the defence against cross-site websocket hijacking. No board rules live here.
"""

import asyncio
import contextlib
import logging
import secrets
from collections import Counter
from collections.abc import Callable, Iterator

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect

from schemas.errors import CloseCode
from schemas.messages import Auth, Error
from server.api.access import Principal, board_and_role, by_token, client_ip, identify, limiter
from server.api.errors import ApiError, error_response
from server.api.services import VALID_ID, services
from server.serving import SEND_NOW
from server.settings import Settings
from server.sync.room import Room
from server.sync.session import Session

log = logging.getLogger("journeyboard.ws")
_decode_auth = msgspec.json.Decoder(Auth).decode


@contextlib.contextmanager
def _client_gone() -> Iterator[None]:
    """Starlette turns the OSError of a vanished client into WebSocketDisconnect; a Channel
    raises OSError (server/sync/session.py)."""
    try:
        yield
    except WebSocketDisconnect as gone:
        raise ConnectionResetError("the client went away") from gone


def _cannot_send_now(text: str) -> bool:
    return False


def _leave_to_server() -> None:
    """Without our protocol, the ASGI server closes the socket when the endpoint returns."""


class StarletteChannel:
    """A Session's view of a Starlette websocket.

    Our uvicorn protocol (server/serving.py) offers a synchronous send; under another ASGI
    server every frame goes through the awaited one.
    """

    __slots__ = ("abort", "send_now", "websocket")

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        extension = websocket.scope.get("extensions", {}).get(SEND_NOW)
        self.send_now: Callable[[str], bool] = extension["send"] if extension else _cannot_send_now
        self.abort: Callable[[], None] = extension["abort"] if extension else _leave_to_server

    async def send(self, text: str) -> None:
        with _client_gone():
            await self.websocket.send_text(text)

    async def close(self, code: int, reason: str) -> None:
        with _client_gone():
            await self.websocket.close(code, reason)


def origin_allowed(websocket: WebSocket, origin: str, settings: Settings) -> bool:
    """The server's own origin, or one configured in JOURNEYBOARD_ORIGINS."""
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    own = f"{scheme}://{websocket.headers.get('host', '')}"
    return origin == own or origin in settings.allowed_origins


async def board_socket(websocket: WebSocket) -> None:
    """Bridge one client socket to its board's room; only this frame and the pump's stay
    suspended for the socket's life (each is a good part of what an idle socket costs)."""
    settings = services(websocket).settings
    who = await _caller(websocket, settings)
    if who is None:
        return
    record, role = await board_and_role(websocket, who)
    if record is None or role is None:
        await websocket.close(CloseCode.NOT_FOUND, "no such board")
        return
    connections: Counter[str] = websocket.app.state.connections
    if connections[who.name] >= settings.ws_connections_per_user:
        await websocket.close(CloseCode.POLICY, "too_many_connections")
        return
    connections[who.name] += 1
    try:
        room = await services(websocket).rooms.open(record)
        del record  # else each socket keeps its own copy of the board's cached snapshot
        client_id, minted = _client_id(websocket)
        session = Session(
            StarletteChannel(websocket), room, who.name, role, client_id, settings, who.admin
        )
        await _pump(websocket, room, session, _since(websocket), fresh=minted)
    finally:
        connections[who.name] -= 1


async def _caller(websocket: WebSocket, settings: Settings) -> Principal | None:
    """Who is connecting, on an accepted socket; None once the socket is closed (over the
    per-IP rate, an invalid `since`, missing or bad credentials)."""
    origin = websocket.headers.get("origin")
    try:
        limiter(websocket).check(limiter(websocket).per_ip, client_ip(websocket))
    except ApiError as error:
        await _deny(websocket, error)
        return None
    await websocket.accept()
    if not _since_is_valid(websocket):
        await _refuse_since(websocket)
        return None
    cookie_ok = origin is not None and origin_allowed(websocket, origin, settings)
    try:
        who = await _handshake_identity(websocket, cookie_ok=cookie_ok)
    except _Closed:
        return None
    return who or await _first_message_auth(websocket, settings)


async def _deny(websocket: WebSocket, error: ApiError) -> None:
    """Refuse the handshake with an HTTP error body (or a bare 403 where the server can't)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(
            error_response(error.body, error.status, error.headers)
        )
    else:
        await websocket.close(CloseCode.POLICY)


async def _handshake_identity(websocket: WebSocket, cookie_ok: bool) -> Principal | None:
    """The caller named by the handshake's credentials (None if it carried none)."""
    has_cookie = cookie_ok and "jb_session" in websocket.cookies
    if "authorization" not in websocket.headers and not has_cookie:
        return None
    try:
        return await identify(websocket, cookie_ok=cookie_ok)
    except ApiError as error:
        code = CloseCode.POLICY if error.body.code == "rate_limited" else CloseCode.UNAUTHORIZED
        await websocket.close(code, error.body.message)
        raise _Closed from None


class _Closed(Exception):
    """The connection was closed during the handshake; nothing more to do."""


async def _first_message_auth(websocket: WebSocket, settings: Settings) -> Principal | None:
    """Read one frame (at most 64 KiB, within the auth timeout) and authenticate with it."""
    try:
        message = await asyncio.wait_for(websocket.receive(), settings.auth_timeout)
        text = message.get("text") or ""
        if len(text) > settings.ws_max_message_bytes:
            raise ValueError("too large")
        return await by_token(websocket, _decode_auth(text).token)
    except (TimeoutError, ValueError, msgspec.MsgspecError, ApiError):
        with contextlib.suppress(Exception):
            await websocket.close(CloseCode.UNAUTHORIZED, "authenticate with a token first")
        return None


async def _pump(
    websocket: WebSocket, room: Room, session: Session, since: int | None, fresh: bool
) -> None:
    """Join, then read in this task, so an idle socket costs no task of its own (the session
    writes in one only while it has something to send). Once the session is over (its close
    frame is out, sending failed, or the client was abandoned) it cancels the reading, and
    that cancellation alone is swallowed.
    """
    reading = asyncio.current_task()
    assert reading is not None
    session.on_over = reading.cancel
    try:
        await room.join(session, since, fresh=fresh)
        while session.closing is None:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is None:
                session.close_soon(CloseCode.UNSUPPORTED_DATA, "send JSON text frames")
            else:
                session.receive(message["text"])
        await asyncio.Event().wait()  # the writer is sending the close frame; let it finish
    except asyncio.CancelledError:
        if not session.over or reading.uncancel() > 0:
            raise  # cancelled from outside (shutdown): pass it on
    finally:
        room.leave(session)
        await session.stop()


def _client_id(websocket: WebSocket) -> tuple[str, bool]:
    """The client's id, and whether we minted it (then none of its ops can be in the log)."""
    given = websocket.query_params.get("client_id", "")
    return (given, False) if VALID_ID.match(given) else (secrets.token_hex(8), True)


def _since(websocket: WebSocket) -> int | None:
    value = websocket.query_params.get("since")
    return None if value is None else int(value)


def _since_is_valid(websocket: WebSocket) -> bool:
    value = websocket.query_params.get("since")
    return value is None or (value.isascii() and value.isdigit() and len(value) < 16)


async def _refuse_since(websocket: WebSocket) -> None:
    """`since` must be a seq: a typo must not silently turn a resume into a fresh join."""
    message = "since must be the last seq you applied: a whole number"
    error = Error(code="invalid", message=message, details={"path": "$.since"})
    await websocket.send_text(msgspec.json.encode(error).decode())
    await websocket.close(CloseCode.BAD_REQUEST, "invalid since")

"""Who is asking and what they may do: every /api route goes through here first.

A caller proves who they are with `Authorization: Bearer <token>` or the session cookie
(writes with the cookie also need the X-CSRF-Token header). Boards a caller is not a
member of answer 404, so their existence is never confirmed; a member whose role is too
low gets 403 naming the role needed.
"""

import asyncio
import time

import msgspec
from starlette.requests import HTTPConnection, Request

from schemas.auth import Role
from server.api.errors import ApiError
from server.api.services import find_board, services
from server.auth import digest, token_id, token_valid
from server.board.roles import at_least
from server.clock import now_ms
from server.ratelimit import Buckets
from server.store.mongo import BoardRecord

SESSION_COOKIE = "jb_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """An authenticated caller."""

    name: str
    admin: bool
    session_id: str | None = None
    csrf: str | None = None


class Limiter:
    """Request rates per IP and per user, and failed sign-ins per IP."""

    def __init__(self, per_ip: Buckets, per_user: Buckets, failures: Buckets) -> None:
        self.per_ip = per_ip
        self.per_user = per_user
        self.failures = failures

    def check(self, buckets: Buckets, key: str) -> None:
        wait = buckets.take(key, time.monotonic())
        if wait:
            retry = max(1, round(wait + 0.5))
            raise ApiError(
                "rate_limited",
                f"too many requests; retry in {retry} s",
                headers={"Retry-After": str(retry)},
            )


def same_origin(request: Request) -> bool:
    """A browser's write names its page's Origin: ours or one in JOURNEYBOARD_ORIGINS.

    Scripts send no Origin and pass; the CSRF token is checked as well either way.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return True
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return origin == own or origin in services(request).settings.allowed_origins


def client_ip(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


def limiter(conn: HTTPConnection) -> Limiter:
    found: Limiter = conn.app.state.limiter
    return found


async def principal(request: Request) -> Principal:
    """The caller, authenticated once per request; raises 401, 403 (CSRF) or 429."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    limits = limiter(request)
    limits.check(limits.per_ip, client_ip(request))
    who = await identify(request)
    if who.csrf is not None and request.method not in SAFE_METHODS:
        if request.headers.get(CSRF_HEADER) != who.csrf:
            raise ApiError(
                "forbidden",
                "writes with a session cookie need the X-CSRF-Token header from sign-in",
            )
        if not same_origin(request):
            raise ApiError("forbidden", "writes with a session cookie must come from this site")
    limits.check(limits.per_user, who.name)
    request.state.principal = who
    return who


async def identify(conn: HTTPConnection, cookie_ok: bool = True) -> Principal:
    """Who the bearer token or (if `cookie_ok`) the session cookie says the caller is."""
    header = conn.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        return await by_token(conn, token.strip() if scheme.lower() == "bearer" else "")
    cookie = conn.cookies.get(SESSION_COOKIE) if cookie_ok else None
    if cookie is not None:
        session = await services(conn).accounts.get_session(digest(cookie))
        if session is None or session.expires_at <= now_ms():
            raise _unauthenticated(conn, "the session has expired; sign in again")
        return await _principal_of(conn, session.user, session.id, session.csrf)
    raise ApiError(
        "unauthorized",
        "sign in, or send Authorization: Bearer <token>",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def by_token(conn: HTTPConnection, token: str) -> Principal:
    accounts = services(conn).accounts
    record_id = token_id(token)
    record = await accounts.get_token(record_id) if record_id else None
    now = now_ms()
    if record is None or not token_valid(token, record, now):
        raise _unauthenticated(conn, "the bearer token is unknown, expired or revoked")
    if record.last_used_at is None or now - record.last_used_at > 60_000:
        await accounts.touch_token(record.id, now)
    return await _principal_of(conn, record.user)


async def _principal_of(
    conn: HTTPConnection, name: str, session_id: str | None = None, csrf: str | None = None
) -> Principal:
    user = await services(conn).accounts.get_user(name)
    if user is None:
        raise _unauthenticated(conn, "this account no longer exists")
    return Principal(name=user.name, admin=user.admin, session_id=session_id, csrf=csrf)


def _unauthenticated(conn: HTTPConnection, message: str) -> ApiError:
    """A refusal of credentials that were presented; repeated ones from one IP are throttled."""
    limits = limiter(conn)
    limits.check(limits.failures, client_ip(conn))
    return ApiError("unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


async def role_on(conn: HTTPConnection, who: Principal, board_id: str) -> Role | None:
    return "owner" if who.admin else await services(conn).accounts.role(board_id, who.name)


async def board_and_role(
    conn: HTTPConnection, who: Principal
) -> tuple[BoardRecord | None, Role | None]:
    """The board in the path and the caller's role on it, both always looked up.

    Asking for the role only when the board exists made "not yours" ~1.5 ms slower than
    "no such board", which told guessers which ids exist; both now cost the same reads.
    """
    board_id = conn.path_params["board_id"]
    return await asyncio.gather(find_board(conn), role_on(conn, who, board_id))


async def board_access(request: Request, required: Role) -> tuple[Principal, BoardRecord, Role]:
    """The caller, the board and the caller's role on it, if that role is at least `required`."""
    who = await principal(request)
    record, role = await board_and_role(request, who)
    if record is None or role is None:
        board_id = request.path_params["board_id"]
        raise ApiError("not_found", f"no board {board_id!r}", board_id=board_id)
    if not at_least(role, required):
        raise ApiError(
            "forbidden",
            f"this needs the {required} role on the board; you are a {role}",
            required_role=required,
            role=role,
        )
    return who, record, role

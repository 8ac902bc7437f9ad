"""The caller's own account: who am I, browser sign-in and out, API tokens."""

import re

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from schemas.auth import (
    CreateToken,
    CreateUser,
    Login,
    LoginResult,
    Me,
    TokenCreated,
    TokenInfo,
    UserCreated,
)
from server.api.access import SESSION_COOKIE, client_ip, limiter, principal
from server.api.errors import ApiError, decode
from server.api.routing import Endpoint, json_response
from server.api.services import body_of, services
from server.auth import digest, hash_password, new_secret, new_token, password_ok
from server.clock import now_ms
from server.store.accounts import SessionRecord, TokenRecord, UserExists, UserRecord

DAY_MS = 86_400_000
_TOKEN_ID = re.compile(r"^[0-9a-f]{16}$")
# Verifying against a real hash when the user is unknown keeps sign-in time the same.
_DECOY_HASH = hash_password(new_secret())


def token_info(record: TokenRecord) -> TokenInfo:
    fields = msgspec.structs.asdict(record)
    del fields["user"], fields["digest"]
    return TokenInfo(**fields)


async def me(request: Request) -> Response:
    who = await principal(request)
    return json_response(Me(name=who.name, admin=who.admin))


async def login(request: Request) -> Response:
    body = decode(await body_of(request), Login)
    accounts = services(request).accounts
    user = await accounts.get_user(body.name)
    if not password_ok(body.password, user.password_hash if user else _DECOY_HASH) or user is None:
        limits = limiter(request)
        limits.check(limits.failures, client_ip(request))
        raise ApiError("unauthorized", "unknown user name or wrong password")
    session_id, csrf = new_secret(), new_secret()
    days = services(request).settings.session_days
    await accounts.add_session(
        SessionRecord(
            id=digest(session_id), user=user.name, csrf=csrf, expires_at=now_ms() + days * DAY_MS
        )
    )
    response = json_response(
        LoginResult(user=Me(name=user.name, admin=user.admin), csrf_token=csrf)
    )
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=days * 86_400,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def logout(request: Request) -> Response:
    who = await principal(request)
    if who.session_id is not None:
        await services(request).accounts.delete_session(who.session_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    return response


async def list_tokens(request: Request) -> Response:
    who = await principal(request)
    return json_response(
        [token_info(t) for t in await services(request).accounts.tokens_of(who.name)]
    )


async def create_token(request: Request) -> Response:
    who = await principal(request)
    body = decode(await body_of(request), CreateToken)
    at = now_ms()
    expires = at + body.expires_in_days * DAY_MS if body.expires_in_days else None
    token, record = new_token(who.name, at, body.label, expires)
    await services(request).accounts.add_token(record)
    return json_response(TokenCreated(token=token, info=token_info(record)), 201)


async def create_user(request: Request) -> Response:
    """Admins add accounts from the browser, as `journeyboard user add` does on the host."""
    who = await principal(request)
    if not who.admin:
        raise ApiError("forbidden", "only an admin may add users")
    body = decode(await body_of(request), CreateUser)
    accounts = services(request).accounts
    at = now_ms()
    password_hash = hash_password(body.password) if body.password else None
    try:
        await accounts.add_user(
            UserRecord(name=body.name, admin=body.admin, password_hash=password_hash, created_at=at)
        )
    except UserExists:
        raise ApiError("conflict", f"user {body.name!r} exists", user=body.name) from None
    token, record = new_token(body.name, at)
    await accounts.add_token(record)
    return json_response(UserCreated(user=Me(name=body.name, admin=body.admin), token=token), 201)


async def revoke_token(request: Request) -> Response:
    who = await principal(request)
    token_id = request.path_params["token_id"]
    owner = None if who.admin else who.name
    if not _TOKEN_ID.match(token_id) or not await services(request).accounts.revoke_token(
        token_id, owner
    ):
        raise ApiError("not_found", f"you have no token {token_id!r}")
    return Response(status_code=204)


ENDPOINTS = [
    Endpoint("GET", "/api/me", me, "Who you are", response=Me),
    Endpoint(
        "POST",
        "/api/login",
        login,
        "Sign in; sets the session cookie",
        body=Login,
        response=LoginResult,
        public=True,
    ),
    Endpoint("POST", "/api/logout", logout, "Sign out of this session", 204),
    Endpoint(
        "GET",
        "/api/tokens",
        list_tokens,
        "Your API tokens (never their secrets)",
        response=list[TokenInfo],
    ),
    Endpoint(
        "POST",
        "/api/tokens",
        create_token,
        "Make an API token; its secret is shown once",
        201,
        CreateToken,
        TokenCreated,
    ),
    Endpoint(
        "POST",
        "/api/users",
        create_user,
        "Add a user account and get its first API token (admin)",
        201,
        CreateUser,
        UserCreated,
    ),
    Endpoint("DELETE", "/api/tokens/{token_id}", revoke_token, "Revoke one of your tokens", 204),
]

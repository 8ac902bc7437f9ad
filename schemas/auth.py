"""Accounts, tokens, sessions and board membership, as they cross the API."""

from typing import Annotated, Literal

from msgspec import Meta, Struct

Role = Literal["viewer", "commenter", "editor", "owner"]
UserName = Annotated[
    str, Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,31}$", description="Lower-case, 1-32 characters.")
]
ROLES: tuple[Role, ...] = ("viewer", "commenter", "editor", "owner")


class Me(Struct, kw_only=True):
    """Who the caller is."""

    name: UserName
    admin: bool


class Login(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Browser sign-in; the answer sets an HttpOnly session cookie."""

    name: UserName
    password: Annotated[str, Meta(min_length=1, max_length=256)]


class LoginResult(Struct, kw_only=True):
    """Send `csrf_token` as the X-CSRF-Token header on every write made with the cookie."""

    user: Me
    csrf_token: str


class CreateToken(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Ask for a new API token for yourself."""

    label: Annotated[str, Meta(max_length=100)] = ""
    expires_in_days: Annotated[int, Meta(ge=1, le=3650)] | None = None


class CreateUser(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An admin adds an account; a password (8+ characters) lets it sign in in a browser."""

    name: UserName
    admin: bool = False
    password: Annotated[str, Meta(min_length=8, max_length=256)] | None = None


class UserCreated(Struct, kw_only=True):
    """The new account and its first API token, shown only this once."""

    user: Me
    token: str


class TokenInfo(Struct, kw_only=True):
    """A token as listed: never its secret."""

    id: str
    label: str
    created_at: int
    expires_at: int | None
    last_used_at: int | None
    revoked: bool


class TokenCreated(Struct, kw_only=True):
    """The only time a token's secret is shown."""

    token: str
    info: TokenInfo


class Member(Struct, kw_only=True):
    """One person's role on a board."""

    user: UserName
    role: Role


class MemberList(Struct, kw_only=True):
    items: list[Member]


class SetRole(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Invite a user to a board, or change their role."""

    role: Role

"""Users, API tokens, browser sessions and board members in MongoDB.

Secrets are stored only as SHA-256 digests: API tokens and session ids are long random
strings, so a fast hash is enough; passwords use argon2 (server/auth/secrets.py).
"""

from typing import Any

import msgspec
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.auth import Role


class UserExists(Exception):
    """That user name is taken."""


class UserRecord(msgspec.Struct, kw_only=True):
    name: str
    admin: bool = False
    password_hash: str | None = None
    created_at: int = 0


class TokenRecord(msgspec.Struct, kw_only=True):
    id: str
    user: str
    digest: str
    label: str = ""
    created_at: int = 0
    expires_at: int | None = None
    last_used_at: int | None = None
    revoked: bool = False


class SessionRecord(msgspec.Struct, kw_only=True):
    id: str
    user: str
    csrf: str
    expires_at: int


def _load(doc: dict[str, Any] | None, type_: type[Any], key: str) -> Any:
    if doc is None:
        return None
    doc[key] = doc.pop("_id")
    return msgspec.convert(doc, type_, strict=False)  # nx-27017 returns booleans set by $set as 0/1


def _dump(record: msgspec.Struct, key: str) -> dict[str, Any]:
    doc: dict[str, Any] = msgspec.to_builtins(record)
    doc["_id"] = doc.pop(key)
    return doc


class Accounts:
    """Who may sign in, with what, and their role on each board."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.users = db.users
        self.tokens = db.tokens
        self.sessions = db.sessions
        self.members = db.members

    async def ensure_indexes(self) -> None:
        await self.tokens.create_index([("user", 1)])
        await self.members.create_index([("board", 1), ("user", 1)], unique=True)
        await self.members.create_index([("user", 1)])

    async def add_user(self, user: UserRecord) -> None:
        try:
            await self.users.insert_one(_dump(user, "name"))
        except DuplicateKeyError:
            raise UserExists(user.name) from None

    async def get_user(self, name: str) -> UserRecord | None:
        return _load(await self.users.find_one({"_id": name}), UserRecord, "name")  # type: ignore[no-any-return]

    async def has_users(self) -> bool:
        return await self.users.find_one({}, {"_id": 1}) is not None

    async def set_password(self, name: str, password_hash: str) -> bool:
        result = await self.users.update_one(
            {"_id": name}, {"$set": {"password_hash": password_hash}}
        )
        return result.matched_count == 1

    async def add_token(self, token: TokenRecord) -> None:
        await self.tokens.insert_one(_dump(token, "id"))

    async def get_token(self, token_id: str) -> TokenRecord | None:
        return _load(await self.tokens.find_one({"_id": token_id}), TokenRecord, "id")  # type: ignore[no-any-return]

    async def tokens_of(self, user: str) -> list[TokenRecord]:
        return [
            _load(doc, TokenRecord, "id")
            async for doc in self.tokens.find({"user": user}).sort("created_at", 1)
        ]

    async def touch_token(self, token_id: str, now_ms: int) -> None:
        await self.tokens.update_one({"_id": token_id}, {"$set": {"last_used_at": now_ms}})

    async def revoke_token(self, token_id: str, user: str | None = None) -> bool:
        query: dict[str, Any] = {"_id": token_id} | ({"user": user} if user is not None else {})
        return (await self.tokens.update_one(query, {"$set": {"revoked": True}})).matched_count == 1

    async def add_session(self, session: SessionRecord) -> None:
        await self.sessions.insert_one(_dump(session, "id"))

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return _load(await self.sessions.find_one({"_id": session_id}), SessionRecord, "id")  # type: ignore[no-any-return]

    async def delete_session(self, session_id: str) -> None:
        await self.sessions.delete_one({"_id": session_id})

    async def role(self, board_id: str, user: str) -> Role | None:
        doc = await self.members.find_one({"board": board_id, "user": user})
        return doc["role"] if doc else None

    async def members_of(self, board_id: str) -> list[tuple[str, Role]]:
        return [
            (d["user"], d["role"])
            async for d in self.members.find({"board": board_id}).sort("user", 1)
        ]

    async def members_in(self, board_ids: list[str]) -> dict[str, dict[str, Role]]:
        """Board id -> user -> role for several boards, in one read."""
        found: dict[str, dict[str, Role]] = {board_id: {} for board_id in board_ids}
        async for d in self.members.find({"board": {"$in": board_ids}}):
            found[d["board"]][d["user"]] = d["role"]
        return found

    async def roles_of(self, user: str) -> dict[str, Role]:
        """Board id -> this user's role, for every board they are a member of."""
        return {
            d["board"]: d["role"]
            async for d in self.members.find({"user": user}, {"board": 1, "role": 1})
        }

    async def set_role(self, board_id: str, user: str, role: Role) -> None:
        await self.members.update_one(
            {"board": board_id, "user": user}, {"$set": {"role": role}}, upsert=True
        )

    async def remove_member(self, board_id: str, user: str) -> bool:
        return (await self.members.delete_one({"board": board_id, "user": user})).deleted_count == 1

    async def owners(self, board_id: str) -> int:
        return await self.members.count_documents({"board": board_id, "role": "owner"})

    async def forget_board(self, board_id: str) -> None:
        await self.members.delete_many({"board": board_id})

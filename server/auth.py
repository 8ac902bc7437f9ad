"""Credentials: making and checking API tokens, session ids and passwords.

Token format: `jb_<id>_<secret>`; the id finds the record, the digest of the whole token
proves it. Nothing here logs, and error messages never echo a credential.
"""

import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.store.accounts import TokenRecord

_TOKEN = re.compile(r"^jb_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_hasher = PasswordHasher()


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token(
    user: str, now_ms: int, label: str = "", expires_at: int | None = None
) -> tuple[str, TokenRecord]:
    """A fresh token and the record to store (which holds only its digest)."""
    token_id = secrets.token_hex(8)
    token = f"jb_{token_id}_{secrets.token_urlsafe(32)}"
    record = TokenRecord(
        id=token_id,
        user=user,
        digest=digest(token),
        label=label,
        created_at=now_ms,
        expires_at=expires_at,
    )
    return token, record


def token_id(token: str) -> str | None:
    """The id part of a well-formed token, else None."""
    match = _TOKEN.match(token)
    return match.group(1) if match else None


def token_valid(token: str, record: TokenRecord | None, now_ms: int) -> bool:
    if (
        record is None
        or record.revoked
        or (record.expires_at is not None and record.expires_at <= now_ms)
    ):
        return False
    return hmac.compare_digest(digest(token), record.digest)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_ok(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False

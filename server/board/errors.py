"""Typed rejections: why the core refused an op, in terms a client can act on."""

from typing import Any

from schemas.errors import ErrorBody, ErrorCode


class Rejected(Exception):
    """An op the board cannot take; the state it was applied to is unchanged."""

    def __init__(self, code: ErrorCode, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.details = details

    def at(self, op_index: int) -> "Rejected":
        """Name which op of a batch was refused."""
        self.details = {"op_index": op_index, **self.details}
        return self

    def body(self) -> ErrorBody:
        return ErrorBody(code=self.code, message=self.message, details=self.details)

"""What a submission comes to, shared by the room that commits and the callers that wait."""

from typing import Literal

import msgspec

from schemas.effects import Effects
from schemas.ops import BoardOp

# How a submission's retry is told: "none" for a one-off, "session" for a live client whose
# client_op_ids only increase, "lookup" (REST keys, in any order) to ask the log.
RetryCheck = Literal["none", "session", "lookup"]


class Committed(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of a submission: its seq, what it did, and whether it had been applied
    before (then `ops` and `via` are the original's, so a replay can tell a reuse)."""

    seq: int
    duplicate: bool = False
    at: int = 0
    effects: Effects = Effects()
    ops: tuple[BoardOp, ...] = ()
    via: str = ""


class BoardBusy(Exception):
    """The room's queue is full, or other writers kept taking the next seq; retry later."""


class OutcomeUnknown(Exception):
    """The database did not answer a commit in time: the batch may or may not be in the log.

    A resend with the same client_op_id is safe: the log's unique seq and the submission
    lookup apply it at most once.
    """

"""What a submission comes to, shared by the room that commits and the callers that wait."""

import msgspec


class Committed(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of a submission: its seq, and whether it had been applied before."""

    seq: int
    duplicate: bool = False
    at: int = 0


class BoardBusy(Exception):
    """The room's queue is full, or other writers kept taking the next seq; retry later."""

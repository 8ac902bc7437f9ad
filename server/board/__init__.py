"""The pure board core: state + ops -> new state or a typed rejection. No I/O, no clock."""

from server.board.apply import Context, apply_batch, apply_effects, commit_batch
from server.board.errors import Rejected
from server.board.limits import REPLAY_LIMITS, Limits
from server.board.state import BoardState, canonical

__all__ = [
    "REPLAY_LIMITS",
    "BoardState",
    "Context",
    "Limits",
    "Rejected",
    "apply_batch",
    "apply_effects",
    "canonical",
    "commit_batch",
]

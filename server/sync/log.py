"""The op log's records as the sync core reads and writes them, and how clients see an entry.

Plain data: the store (server/store/mongo.py) persists these, the pure pipeline makes them,
and nothing here does I/O.
"""

import msgspec

from schemas.board import AnyElement
from schemas.effects import Effects
from schemas.messages import OpMessage
from schemas.ops import BoardOp


# gc=False: plain values that never form a cycle, so the garbage collector need not walk
# the many thousands a server keeps (fewer, shorter pauses; see server/app.py settle_heap).
class LogEntry(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One submission, committed: its ops, the seq that orders it, who sent it and when.

    `effects` is what it did (entries written before protocol 2 have none); `via` is how
    it came ("ws", "rest"; empty before protocol 2).
    """

    seq: int
    ops: list[BoardOp]
    user: str
    at: int
    client_id: str
    client_op_id: int
    effects: Effects | None = None
    via: str = ""


class BoardBlob(msgspec.Struct, kw_only=True):
    """The cached board state as stored: rebuilt from the op log whenever it lags."""

    title: str
    description: str
    tags: tuple[str, ...]
    elements: list[AnyElement]


_encode = msgspec.json.Encoder().encode


def encoded_op(entry: LogEntry) -> bytes:
    """The entry as every client on the board receives it (client ids without their user),
    encoded: live, in a catch-up, and when the pipeline weighs a batch."""
    return _encode(
        OpMessage(
            seq=entry.seq,
            user=entry.user,
            client_id=entry.client_id.partition("/")[2],
            client_op_id=entry.client_op_id,
            at=entry.at,
            ops=entry.ops,
            effects=entry.effects or Effects(),
        )
    )

"""The websocket protocol (`/ws/boards/{board_id}`): JSON text frames, tagged by `type`.

docs/protocol.md explains the order of messages, resume, errors and close codes.
"""

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from schemas.api import BoardInfo
from schemas.auth import Role
from schemas.board import AnyElement, Coord, Id
from schemas.effects import Effects
from schemas.insights import Paths, Score
from schemas.ops import BoardOp

PROTOCOL_VERSION = 2
ClientOpId = Annotated[int, Meta(ge=0, le=2**53)]


class ClientMessage(
    Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="type"
):
    """Anything a client sends."""


class Auth(ClientMessage, tag="auth", frozen=True):
    """First message, when the handshake carried no credentials (e.g. a browser's own token)."""

    token: Annotated[str, Meta(max_length=200)]


class Submit(ClientMessage, tag="submit", frozen=True):
    """Ops to apply in order, all or nothing; `client_op_id` increases per client."""

    client_op_id: ClientOpId
    ops: Annotated[list[BoardOp], Meta(min_length=1, max_length=1000)]


class Cursor(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    x: Coord
    y: Coord


class SetPresence(ClientMessage, tag="presence", frozen=True):
    """Where this client's pointer is and what it has selected; never stored."""

    cursor: Cursor | None = None
    selection: Annotated[tuple[Id, ...], Meta(max_length=100)] = ()


class Ping(ClientMessage, tag="ping", frozen=True):
    """Asks for a `pong`; any message also counts as a heartbeat."""


class Pong(ClientMessage, tag="pong", frozen=True):
    """The answer to the server's `ping`."""


AnyClientMessage = Auth | Submit | SetPresence | Ping | Pong


class ServerMessage(Struct, kw_only=True, tag_field="type"):
    """Anything the server sends; clients should ignore fields they do not know."""


class Welcome(ServerMessage, tag="welcome", kw_only=True):
    """First server message: who you are, your role and the board's seq right now."""

    protocol: int = PROTOCOL_VERSION
    board_id: str
    seq: int
    user: str
    role: Role
    client_id: str


class SnapshotMessage(ServerMessage, tag="snapshot", kw_only=True):
    """The whole board as of `seq`; live `op`s follow from `seq + 1`.

    A large board comes in parts: with `more` true, `snapshot_chunk` messages carry the
    remaining elements, the last one with `more` false. Replace your replica once it is whole.
    """

    seq: int
    board: BoardInfo
    elements: list[AnyElement]
    reason: Literal["join", "resync"] = "join"
    more: bool = False


class SnapshotChunk(ServerMessage, tag="snapshot_chunk", kw_only=True):
    """More elements of the snapshot at `seq`; the last part has `more` false."""

    seq: int
    elements: list[AnyElement]
    more: bool = False


class OpMessage(ServerMessage, tag="op", kw_only=True):
    """One committed batch, in seq order, to everyone on the board (its sender too).

    `effects` is what it did: apply it to converge. `ops` is what was asked (the intent),
    for display and for rebasing optimistic edits; it is not needed to stay in sync.
    """

    seq: int
    user: str
    client_id: str
    client_op_id: int
    at: int
    ops: list[BoardOp]
    effects: Effects = Effects()


class Ack(ServerMessage, tag="ack", kw_only=True):
    """Your submission is durable at `seq` (`duplicate`: it had been applied before)."""

    client_op_id: int
    seq: int
    duplicate: bool = False


class Reject(ServerMessage, tag="reject", kw_only=True):
    """Your submission was refused and changed nothing; `code` says why.

    Except `outcome_unknown`: the database did not answer in time, so the batch may or may
    not be committed. Resending it with the same `client_op_id` is safe: it applies once.
    """

    client_op_id: int
    code: str
    message: str
    details: dict[str, Any] = {}


class Error(ServerMessage, tag="error", kw_only=True):
    """A message that could not be understood; the connection stays open."""

    code: str
    message: str
    details: dict[str, Any] = {}


class Presence(ServerMessage, tag="presence", kw_only=True):
    """Someone else's pointer and selection (sent when it changes, at most 20 times a second)."""

    client_id: str
    user: str
    color: str
    cursor: Cursor | None = None
    selection: tuple[str, ...] = ()


class Left(ServerMessage, tag="left", kw_only=True):
    """A client left the board."""

    client_id: str
    user: str


class InsightMessage(ServerMessage, tag="insight", kw_only=True):
    """Fresh insight while evidence arrives (at most about once a second per board).

    `stages` and `touchpoints` are the emotion-curve scores that new feedback changed:
    replace yours by id. `paths` is the whole path analysis, after new journey events.
    """

    stages: list[Score] = []
    touchpoints: list[Score] = []
    paths: Paths | None = None


class ServerPing(ServerMessage, tag="ping", kw_only=True):
    """Answer with `pong`, or any message, before the heartbeat timeout."""


class ServerPong(ServerMessage, tag="pong", kw_only=True):
    """The answer to your `ping`."""


AnyServerMessage = (
    Welcome
    | SnapshotMessage
    | SnapshotChunk
    | OpMessage
    | Ack
    | Reject
    | Error
    | Presence
    | Left
    | InsightMessage
    | ServerPing
    | ServerPong
)

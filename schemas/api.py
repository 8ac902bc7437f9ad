"""REST request and response bodies."""

from typing import Annotated, Literal

from msgspec import Meta, Struct

from schemas.auth import Role
from schemas.board import AnyElement, Tags, Text
from schemas.effects import Effects
from schemas.ops import BoardOp

Template = Literal["customer-journey", "support-flowchart", "repurchase-flowchart"]
Title = Annotated[str, Meta(min_length=1, max_length=200)]
ClientId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class CreateBoard(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Start a board, empty or seeded from a template."""

    title: Title
    description: Text = ""
    tags: Tags = ()
    template: Template | None = None


class Idempotency(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Names a submission so a retry of it is applied once: the same pair, the same result.

    `client_id` is yours to choose (one per script or device); it is scoped to your user.
    """

    client_id: ClientId
    client_op_id: Annotated[int, Meta(ge=0, le=2**53)]


class OpsRequest(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A batch of ops applied in order, all or nothing."""

    ops: Annotated[list[BoardOp], Meta(min_length=1, max_length=1000)]
    idempotency: Idempotency | None = None


class OpsResult(Struct, kw_only=True):
    """Where the batch landed in the board's history, and what it did.

    `replay`: this idempotency key was used before, and this is that call's result
    (`duplicate` says the same; nothing was applied again).
    """

    seq: int
    applied: int
    duplicate: bool = False
    effects: Effects = Effects()
    replay: bool = False


BoardId = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Chosen by the server when the board is created.",
    ),
]


class BoardInfo(Struct, kw_only=True):
    """A board's summary as lists show it."""

    id: BoardId
    title: str
    description: str
    tags: list[str]
    owner: str
    template: str | None
    created_at: int
    updated_at: int


class BoardListItem(BoardInfo, kw_only=True):
    """A board in your list, with your role on it (an admin is owner of every board)."""

    role: Role


class BoardPage(Struct, kw_only=True):
    """One page of boards; pass `next_cursor` as `cursor` for the next one."""

    items: list[BoardListItem]
    next_cursor: str | None = None


class Snapshot(Struct, kw_only=True):
    """The whole board as of `seq`: replay ops after `seq` to stay current."""

    board: BoardInfo
    seq: int
    elements: list[AnyElement]


class Health(Struct, kw_only=True):
    """Liveness or readiness."""

    status: Literal["ok", "degraded"]

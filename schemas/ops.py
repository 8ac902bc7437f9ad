"""Ops: the changes a client asks a board to make, the same over REST and websocket.

`set`/`unset` in `update` work property by property, so two people editing different
properties of one element both keep their change (last writer wins per property).
"""

from typing import Annotated, Any

from msgspec import UNSET, Meta, Struct, UnsetType

from schemas.board import AnyElement, Coord, Id, Tags, Text

FieldName = Annotated[str, Meta(pattern=r"^[a-z_]{1,32}$")]


# gc=False: plain values that never form a cycle, so the garbage collector need not walk
# the many thousands a server keeps (fewer, shorter pauses; see server/app.py settle_heap).
class Op(Struct, frozen=True, gc=False, kw_only=True, forbid_unknown_fields=True, tag_field="op"):
    """A change a client asks the board to make."""


class Create(Op, tag="create", frozen=True):
    """Add a new element; its id must not exist yet."""

    element: AnyElement


class ElementChanges(Struct, frozen=True, gc=False, kw_only=True, forbid_unknown_fields=True):
    """Properties to set, and properties to reset to their default."""

    set: Annotated[dict[FieldName, Any], Meta(max_length=32)] = {}
    unset: Annotated[tuple[FieldName, ...], Meta(max_length=32)] = ()


class Update(Op, ElementChanges, tag="update", frozen=True):
    """Set and unset individual properties of one element."""

    id: Id


class Delete(Op, tag="delete", frozen=True):
    """Remove an element and everything that only makes sense with it (edges, comments)."""

    id: Id


class Move(Op, tag="move", frozen=True):
    """Move an element on the canvas and, optionally, into another stage or lane."""

    id: Id
    x: Coord
    y: Coord
    stage: Id | UnsetType | None = UNSET
    lane: Id | UnsetType | None = UNSET


class Reorder(Op, tag="reorder", frozen=True):
    """Place a stage or lane right after the sibling `after`, or first when it is null."""

    id: Id
    after: Id | None = None


class BoardChanges(Struct, frozen=True, gc=False, kw_only=True, forbid_unknown_fields=True):
    """New values for the board's own title, description or tags; absent ones stay."""

    title: Annotated[str, Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    description: Text | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET


class UpdateBoard(Op, BoardChanges, tag="board.update", frozen=True):
    """Change the board's own title, description or tags."""


BoardOp = Create | Update | Delete | Move | Reorder | UpdateBoard

"""Effects: what a committed batch did to a board, as any client can apply it without our core.

A client that knows only "delete by id, put by id, set the board's fields" converges on the
server's board by applying each batch's effects in seq order: remove `removed`, put `put`,
then set `board` when it is not null.
"""

from msgspec import Struct

from schemas.board import AnyElement


class BoardFields(Struct, frozen=True, gc=False, kw_only=True):
    """The board's own editable fields after a batch that changed any of them."""

    title: str
    description: str
    tags: list[str]


# gc=False: plain values that never form a cycle, so the garbage collector need not walk
# the many thousands a server keeps (fewer, shorter pauses; see server/app.py settle_heap).
class Effects(Struct, frozen=True, gc=False, kw_only=True):
    """The committed result of one batch.

    `put`: every element the batch created or changed, in full and as stored (server-stamped
    fields such as a comment's author and computed order keys included). `removed`: the id of
    every element present before and absent after (cascades included). The two are disjoint.
    `board`: the board's title, description and tags after the batch, or null if unchanged.
    """

    put: list[AnyElement] = []
    removed: list[str] = []
    board: BoardFields | None = None

"""What REST routes may do with an open board: submit ops and read its state, nothing more."""

import secrets
from collections.abc import Sequence

from schemas.auth import Role
from schemas.ops import BoardOp
from server.board import BoardState
from server.store.mongo import BoardRecord
from server.sync.results import Committed
from server.sync.room import Room, Rooms


class BoardHandle:
    """A board as REST sees it: how a call's ops are committed (and deduped) is decided here,
    so routes hold no commit policy and never reach into the room."""

    def __init__(self, room: Room) -> None:
        self._room = room

    @property
    def state(self) -> BoardState:
        """The state as of the last commit this instance applied (a value; never changes)."""
        return self._room.state

    async def read(self) -> tuple[BoardState, int]:
        """The state and its seq, after catching up with commits other instances made."""
        committer = self._room.committer
        await committer.catch_up()
        return committer.state, committer.seq

    async def submit(
        self, ops: Sequence[BoardOp], user: str, role: Role, key: tuple[str, int] | None
    ) -> Committed:
        """Commit ops; only a caller-named (client_id, client_op_id) key can be a retry."""
        if key is None:
            name = f"rest-{secrets.token_hex(8)}"
            return await self._room.committer.submit(ops, user, name, 0, role, check="none")
        return await self._room.committer.submit(ops, user, *key, role, via="rest")


async def open_handle(rooms: Rooms, record: BoardRecord) -> BoardHandle:
    """The board's handle, loading its room if it is not open here yet."""
    return BoardHandle(await rooms.open(record))

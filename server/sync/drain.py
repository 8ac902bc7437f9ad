"""A shutdown that loses nothing: commits in flight finish, then every socket closes with 1001."""

import asyncio
import contextlib
from collections.abc import Callable

from server.sync.room import Rooms


async def drain(rooms: Rooms, seconds: float) -> None:
    """Let queued commits land (most of `seconds`), then close sockets and let the frames go.

    A commit cut off by the deadline is simply not acked; its client resends it elsewhere
    with the same ids and it is applied once (the log dedupes).
    """
    deadline = asyncio.get_running_loop().time() + seconds
    await _until(
        lambda: all(room.committer.idle for room in rooms),
        deadline - seconds / 3,
    )
    rooms.close_all()
    await _until(lambda: not any(room.sessions for room in rooms), deadline)


async def _until(condition: Callable[[], bool], deadline: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout_at(deadline):
            while not condition():  # noqa: ASYNC110 - rooms have no "all idle" event
                await asyncio.sleep(0.02)

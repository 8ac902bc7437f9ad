"""How instances learn of each other's commits: the op log's change stream, nothing home-made."""

import asyncio
import logging

from server.store.mongo import Store
from server.sync.room import Rooms

log = logging.getLogger("journeyboard.sync")


async def follow_commits(store: Store, rooms: Rooms, retry_seconds: float = 1.0) -> None:
    """Feed every commit on the shared op log to the open room of its board, forever.

    Each (re)start opens the stream first and then catches every open room up, so a commit
    made while the stream was down is fetched from the log rather than lost.
    """
    while True:
        try:
            async with store.watch_ops() as changes:
                await rooms.catch_up_all()
                async for board_id, entries in changes:
                    await rooms.remote(board_id, entries)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("op-log change stream interrupted (%s); reopening", type(error).__name__)
            await asyncio.sleep(retry_seconds)

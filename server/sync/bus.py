"""How instances learn of each other's commits: the op log's change stream, nothing home-made."""

import asyncio
import logging

from server.metrics import FANOUT_LAG, STREAM_LAG
from server.store.mongo import Store
from server.sync.room import Rooms, now_ms

log = logging.getLogger("journeyboard.sync")


async def follow_commits(store: Store, rooms: Rooms, max_wait: float = 30.0) -> None:
    """Feed every commit on the shared op log to the open room of its board, forever.

    Each (re)start opens the stream first and then catches every open room up, so a commit
    made while the stream was down is fetched from the log rather than lost. Without a
    stream (a standalone mongod has none), retries back off to `max_wait`: one instance
    still works, and others' commits arrive when a write of its own collides.
    """
    wait = 1.0
    while True:
        try:
            async with store.watch_ops() as changes:
                await rooms.catch_up_all()
                wait = 1.0
                async for board_id, entries in changes:
                    STREAM_LAG.observe(max(0, now_ms() - entries[-1].at) / 1000)
                    await rooms.remote(board_id, entries)
                    FANOUT_LAG.observe(max(0, now_ms() - entries[-1].at) / 1000)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning(
                "op-log change stream unavailable (%s); retrying in %.0f s",
                type(error).__name__,
                wait,
            )
            await asyncio.sleep(wait)
            wait = min(max_wait, wait * 2)

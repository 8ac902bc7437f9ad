"""Feedback and journey events in MongoDB: bulk inserts that dedupe, and the insight pipelines.

Every document's `_id` is (board, source, external id), so a re-import is a duplicate-key
error per record, counted and skipped, never a second copy. Pipelines `$match` one board
and `$group` over fields precomputed at ingest (server/evidence/records.py).
"""

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

Document = dict[str, Any]
DUPLICATE_KEY = 11000


class Evidence:
    """The `feedback` and `events` collections of one database."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.feedback: AsyncCollection[Document] = db.feedback
        self.events: AsyncCollection[Document] = db.events

    async def ensure_indexes(self) -> None:
        """One index per collection besides `_id`: each one costs every insert.

        (board, node) serves per-touchpoint reads and quotes; (board, customer, at) serves
        paths and re-purchase timing, which walk each customer's events in time order.
        """
        await self.feedback.create_index([("board", 1), ("node", 1)], name="board_node")
        await self.events.create_index(
            [("board", 1), ("customer", 1), ("at", 1)], name="board_customer_at"
        )

    async def insert(self, collection: AsyncCollection[Document], docs: list[Document]) -> int:
        """Insert what is new; returns how many were duplicates of stored records."""
        if not docs:
            return 0
        try:
            await collection.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            errors = error.details["writeErrors"]
            if any(e["code"] != DUPLICATE_KEY for e in errors):
                raise
            return len(errors)
        return 0

    async def forget_board(self, board_id: str) -> None:
        await self.feedback.delete_many({"board": board_id})
        await self.events.delete_many({"board": board_id})

    async def aggregate(
        self, collection: AsyncCollection[Document], pipeline: list[Document]
    ) -> list[Document]:
        """Run a pipeline that starts by matching one board (callers add that stage)."""
        cursor = await collection.aggregate(pipeline)
        return [doc async for doc in cursor]
